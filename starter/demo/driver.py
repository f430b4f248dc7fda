"""`python -m starter demo`: drive the demo cohort through the HTTP API as the partners would.

The backend enrols with `POST /v1/participants`, each partner reads its participants and reports
milestones with its own key, and a case manager pauses and resumes. The driver keeps no state
of its own: every tick it reads each participant's state and asks `behaviour.next_action` for
the next step, whose milestone id follows from the milestone count, so a re-sent step is
recorded once and a restarted driver carries on where the trajectories are.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import structlog

from api.models import ParticipantPublic
from infra.database import open_pool
from infra.logging import configure_logging
from infra.settings import Settings, get_settings
from starter.demo.behaviour import Action, Steering, next_action
from starter.demo.cohort import COHORT_SIZE, DemoParticipant, demo_cohort
from starter.demo.keys import DEMO_KEYS_ENV, STANDALONE_KEY_LABEL, DemoKeys, issue_demo_keys
from trajectory.milestones import Milestone
from trajectory.phases import Status

log = structlog.stdlib.get_logger(__name__)

ENROLMENT_SPREAD = timedelta(seconds=20)
"""The whole cohort is enrolled within this wall-clock time, one after the other."""
CONCURRENCY = 8
"""Requests in flight at once."""
REQUEST_TIMEOUT = 40.0
"""Seconds a request may take; the API waits up to 30 for a trajectory's answer."""


def api_url(settings: Settings) -> str:
    """Where the HTTP API answers on this machine."""
    return f"http://{settings.api_host}:{settings.api_port}"


@dataclass
class Driver:
    """Enrols the cohort through the API and moves each trajectory one step per tick."""

    api: httpx.AsyncClient
    keys: DemoKeys
    day: timedelta
    """The length of a programme day, as the API was started with."""
    tick: float
    """Seconds from the start of one round over the cohort to the next."""
    spread: float
    """Seconds from one new enrolment to the next."""
    in_flight: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))

    async def run(self, cohort: list[DemoParticipant]) -> None:
        """Drive until every trajectory is closed."""
        enrolled: dict[int, str] = {}
        finished: set[int] = set()
        enrolling = asyncio.create_task(self._enrol(cohort, enrolled))
        clock = asyncio.get_running_loop()
        try:
            while True:
                next_round = clock.time() + self.tick
                await asyncio.gather(
                    *(
                        self._step(member, enrolled[member.number], finished)
                        for member in cohort
                        if member.number in enrolled and member.number not in finished
                    )
                )
                if enrolling.done():
                    enrolling.result()  # an unexpected failure stops the demo, not only enrolment
                    if len(finished) == len(cohort):
                        log.info("demo_cohort_finished", participants=len(cohort))
                        return
                await asyncio.sleep(max(0.0, next_round - clock.time()))
        finally:
            enrolling.cancel()

    async def _enrol(self, cohort: list[DemoParticipant], into: dict[int, str]) -> None:
        """Enrol everyone, new people `spread` apart; a failed enrolment is tried again later."""
        clock = asyncio.get_running_loop()
        waiting = list(cohort)
        while waiting:
            for member in list(waiting):
                next_slot = clock.time() + self.spread
                body = member.enrolment.model_dump(mode="json")
                answer = await self._request("POST", "/v1/participants", self.keys.backend, body)
                if answer is None or answer.status_code not in (200, 201):
                    _log_failure("demo_enrolment_failed", answer, demo=member.number)
                    continue
                participant_id: str = answer.json()["participant_id"]
                into[member.number] = participant_id
                waiting.remove(member)
                if answer.status_code == 201:
                    log.info(
                        "demo_participant_enrolled",
                        demo=member.number,
                        participant_id=participant_id,
                        partner_id=member.enrolment.partner_id,
                        profile=member.profile.behaviour.value,
                    )
                    await asyncio.sleep(max(0.0, next_slot - clock.time()))
            if waiting:
                await asyncio.sleep(self.tick)

    async def _step(self, member: DemoParticipant, participant_id: str, finished: set[int]) -> None:
        """Read the participant's state, decide, and send the next step; a refusal is logged."""
        context: dict[str, Any] = {"demo": member.number, "participant_id": participant_id}
        path = f"/v1/participants/{participant_id}"
        answer = await self._request("GET", path, self._partner_key(member))
        if answer is None or answer.status_code != 200:
            _log_failure("demo_read_failed", answer, **context)
            return
        state = ParticipantPublic.model_validate(answer.json())
        if state.status == Status.CLOSED:
            finished.add(member.number)
            return
        action = next_action(member, state, datetime.now(UTC), self.day)
        if action is None:
            return
        answer = await self._act(member, path, action)
        if answer is None or answer.status_code != 200:
            _log_failure("demo_step_failed", answer, **context, step=_describe(action))
            return
        after = ParticipantPublic.model_validate(answer.json())
        log.info(
            "demo_step",
            **context,
            step=_describe(action),
            phase=after.phase.value,
            status=after.status.value,
        )

    async def _act(
        self, member: DemoParticipant, path: str, action: Action
    ) -> httpx.Response | None:
        """Send `action` with the key of whoever takes that step: the partner or a case manager."""
        match action:
            case Steering():
                body = {"reason": action.reason}
                return await self._request(
                    "POST", f"{path}/{action.kind}", self.keys.case_manager, body
                )
        body = action.report_json()
        return await self._request("POST", f"{path}/milestones", self._partner_key(member), body)

    def _partner_key(self, member: DemoParticipant) -> str:
        return self.keys.partners[member.enrolment.partner_id]

    async def _request(
        self, method: str, path: str, key: str, body: dict[str, Any] | None = None
    ) -> httpx.Response | None:
        """One call, at most `CONCURRENCY` at once; None (logged) when the API does not answer."""
        async with self.in_flight:
            try:
                return await self.api.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {key}"}
                )
            except httpx.HTTPError as error:
                log.warning("demo_request_failed", method=method, path=path, error=repr(error))
                return None


def _detail(answer: httpx.Response) -> str:
    """The `detail` of an error answer, or the start of whatever came back."""
    try:
        return str(answer.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _log_failure(event: str, answer: httpx.Response | None, **context: Any) -> None:
    """A refused (409) or failed call is logged; it is tried again at a later tick."""
    if answer is not None:
        log.warning(event, **context, status=answer.status_code, reason=_detail(answer))


def _describe(action: Action) -> str:
    match action:
        case Milestone():
            return action.type.value
    return action.kind


async def _demo_keys(settings: Settings) -> DemoKeys:
    """The keys `make dev` handed over, or new ones when the demo runs on its own."""
    if (handed_over := os.environ.get(DEMO_KEYS_ENV)) is not None:
        return DemoKeys.model_validate_json(handed_over)
    pool = await open_pool(settings)
    try:
        return await issue_demo_keys(pool, STANDALONE_KEY_LABEL)
    finally:
        await pool.close()


async def _drive(settings: Settings) -> None:
    keys = await _demo_keys(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(base_url=api_url(settings), timeout=REQUEST_TIMEOUT) as api:
        driver = Driver(
            api,
            keys,
            day=timedelta(seconds=settings.seconds_per_day),
            tick=min(max(2 * settings.seconds_per_day, 1.0), 60.0),
            spread=ENROLMENT_SPREAD.total_seconds() / COHORT_SIZE,
        )
        log.info("demo_started", api=api_url(settings), seconds_per_day=settings.seconds_per_day)
        driving = asyncio.create_task(driver.run(demo_cohort(date.today())))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({driving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if driving.done():
            driving.result()
        else:
            driving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driving
            log.info("demo_stopped")


def main(_: argparse.Namespace) -> int:
    """`python -m starter demo`: drive the demo cohort through a running API until stopped."""
    configure_logging()
    # Its INFO lines log every request; the demo logs its steps itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(_drive(get_settings()))
    return 0
