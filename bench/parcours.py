"""Parcours on the bench's stack, as a black box: the enrol command, the HTTP API, the read model.

Enrolment end to end is the eligibility decided and the trajectory's read-model row written
after it; read-model lag is the time from a milestone's 200 until its row is in `milestones`.
"""

import asyncio
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from bench.measure import closed_loop, percentiles_ms
from bench.people import write_cohort
from bench.stack import ROOT, Stack
from infra.codec import Keyring, data_converter
from infra.contract import workflow_id
from tests.keys import milestone_key
from trajectory.milestones import Milestone, MilestoneType
from trajectory.requests import RecordMilestone

DONE_SQL = """
SELECT count(*) FROM participants p
JOIN eligibility_checks e USING (participant_id)
JOIN trajectories t USING (participant_id)
WHERE p.external_ref LIKE $1 || '-%' AND t.updated_at >= e.checked_at
"""
"""Enrolled people whose eligibility is decided and whose read-model row followed."""
LAG_POLL_SECONDS = 0.02
LAG_GIVE_UP_SECONDS = 30.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Person:
    participant_id: str
    partner_id: str


async def enrol(stack: Stack, rows: int, concurrency: int = 32) -> dict[str, Any]:
    """Enrol `rows` people with `python -m starter enrol`; accepted and end-to-end rates."""
    cohort = stack.workdir / f"cohort-{uuid.uuid4().hex[:6]}.csv"
    prefix = write_cohort(cohort, rows, first=stack.people_written)
    stack.people_written += rows
    rejected_file = stack.workdir / f"rejected-{prefix}.csv"
    con = await stack.database()
    try:
        began = time.monotonic()
        with (stack.workdir / "enrol.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "starter", "enrol",
                "--file", str(cohort),
                "--concurrency", str(concurrency),
                "--report", str(rejected_file),
                env=stack.env, cwd=ROOT, stdout=log, stderr=log,
            )  # fmt: skip
            code = await process.wait()
        accepted = time.monotonic() - began
        if code not in (0, 1):  # 1: some rows rejected, counted below
            raise RuntimeError(f"the enrol command exited with {code}; see enrol.log")
        rejected = 0
        if rejected_file.exists():
            rejected = max(0, len(rejected_file.read_text().splitlines()) - 1)
        rows_enrolled = rows - rejected
        done = 0
        deadline = time.monotonic() + max(180.0, rows / 3)
        while time.monotonic() < deadline:
            done = await con.fetchval(DONE_SQL, prefix)
            if done >= rows_enrolled:
                break
            await asyncio.sleep(0.25)
        end_to_end = time.monotonic() - began
    finally:
        await con.close()
    return {
        "rows": rows,
        "concurrency": concurrency,
        "workers": len(stack.workers),
        "accepted_per_s": round(rows / accepted, 1),
        "end_to_end_per_s": round(rows / end_to_end, 1) if done >= rows else None,
        "rejected": rejected,
        "end_to_end_done": done,
        "end_to_end_done_per_s": round(done / end_to_end, 1),
        "accepted_s": round(accepted, 1),
        "end_to_end_s": round(end_to_end, 1),
        "prefix": prefix,
    }


async def people(stack: Stack, prefix: str | None = None) -> list[Person]:
    """Open trajectories (of one enrolment when `prefix` is given)."""
    con = await stack.database()
    try:
        rows = await con.fetch(
            "SELECT t.participant_id, t.partner_id FROM trajectories t"
            " JOIN participants p USING (participant_id)"
            " WHERE t.status <> 'closed' AND ($1::text IS NULL OR p.external_ref LIKE $1 || '-%')"
            " ORDER BY p.external_ref",
            prefix,
        )
    finally:
        await con.close()
    return [Person(row["participant_id"], row["partner_id"]) for row in rows]


async def open_count(stack: Stack) -> int:
    con = await stack.database()
    try:
        count: int = await con.fetchval(
            "SELECT count(*) FROM trajectories WHERE status <> 'closed'"
        )
    finally:
        await con.close()
    return count


class LagWatch:
    """Polls the read model for milestones answered 200, and records when each shows up."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._pending: dict[tuple[str, str], float] = {}
        self.lags: list[float] = []
        self._closing = False

    def answered(self, participant_id: str, milestone_id: str) -> None:
        self._pending[(participant_id, milestone_id)] = time.monotonic()

    async def run(self) -> None:
        con = await self._stack.database()
        try:
            give_up = float("inf")
            while self._pending or not self._closing:
                if self._closing and give_up == float("inf"):
                    give_up = time.monotonic() + LAG_GIVE_UP_SECONDS
                if time.monotonic() > give_up:
                    break
                keys = list(self._pending)
                if keys:
                    rows = await con.fetch(
                        "SELECT participant_id, milestone_id FROM milestones"
                        " WHERE (participant_id, milestone_id) IN"
                        " (SELECT * FROM unnest($1::text[], $2::text[]))",
                        [k[0] for k in keys],
                        [k[1] for k in keys],
                    )
                    seen = time.monotonic()
                    for row in rows:
                        key = (row["participant_id"], row["milestone_id"])
                        self.lags.append(seen - self._pending.pop(key))
                await asyncio.sleep(LAG_POLL_SECONDS)
        finally:
            await con.close()

    def close(self) -> None:
        self._closing = True

    def figures(self) -> dict[str, Any]:
        return {
            "lag_count": len(self.lags),
            "lag_missing": len(self._pending),
            **{f"lag_{k}": v for k, v in percentiles_ms(self.lags).items()},
        }


class MilestoneSender:
    """Partners report `participant_contact` with fresh ids through the HTTP API."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient, lag: LagWatch | None = None) -> None:
        self._stack = stack
        self._http = http
        self._lag = lag

    async def send(self, person: Person) -> None:
        milestone_id = f"bench-{uuid.uuid4().hex}"
        answer = await self._http.post(
            f"{self._stack.api_url}/v1/participants/{person.participant_id}/milestones",
            headers={"Authorization": f"Bearer {self._stack.keys[person.partner_id]}"},
            json={
                "milestone_id": milestone_id,
                "type": "participant_contact",
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": {},
            },
        )
        if answer.status_code != 200:
            raise RuntimeError(f"{answer.status_code} {answer.text[:120]}")
        if self._lag is not None:
            self._lag.answered(person.participant_id, milestone_id)


def _slices(everyone: Sequence[Person], clients: int) -> list[list[Person]]:
    """Each client its own people, so that two clients never queue on one trajectory."""
    return [list(everyone[c::clients]) for c in range(clients)]


async def milestone_loop(
    stack: Stack, everyone: Sequence[Person], clients: int, seconds: float, lag: bool = True
) -> dict[str, Any]:
    """Milestones at `clients` concurrent partners' clients; with read-model lag."""
    watch = LagWatch(stack) if lag else None
    limits = httpx.Limits(max_connections=clients + 5)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        sender = MilestoneSender(stack, http, watch)
        mine = _slices(everyone, clients)
        watching = asyncio.create_task(watch.run()) if watch else None

        async def report(c: int, n: int) -> None:
            await sender.send(mine[c][n % len(mine[c])])

        figures = await closed_loop(clients, seconds, report)
        if watch is not None and watching is not None:
            watch.close()
            await watching
            figures.update(watch.figures())
    figures["people"] = len(everyone)
    return figures


async def direct_update_loop(
    stack: Stack, everyone: Sequence[Person], clients: int, seconds: float
) -> dict[str, Any]:
    """The same milestones as Temporal Updates straight to the trajectories, without the API:
    tells the API's share of the latency from the workflow's."""
    keyring = Keyring.parse(stack.env["PARCOURS_CODEC_KEYS"])
    client = await Client.connect(stack.temporal_address, data_converter=data_converter(keyring))
    mine = _slices(everyone, clients)

    async def report(c: int, n: int) -> None:
        person = mine[c][n % len(mine[c])]
        milestone = Milestone(
            milestone_id=f"bench-{uuid.uuid4().hex}",
            type=MilestoneType.PARTICIPANT_CONTACT,
            occurred_at=datetime.now(UTC),
        )
        handle = client.get_workflow_handle(workflow_id(person.participant_id))
        await handle.execute_update(
            "record_milestone", RecordMilestone.of(milestone, milestone_key())
        )

    return {**await closed_loop(clients, seconds, report), "people": len(everyone)}


async def touch_all(stack: Stack, everyone: Sequence[Person], clients: int = 10) -> None:
    """One milestone for each person, so that every trajectory is in the worker's cache."""
    queue = iter(everyone)
    async with httpx.AsyncClient(timeout=60.0) as http:
        sender = MilestoneSender(stack, http)

        async def work() -> None:
            for person in queue:
                await sender.send(person)

        await asyncio.gather(*(work() for _ in range(clients)))


async def worker_memory(stack: Stack, everyone: Sequence[Person], cached: int) -> dict[str, Any]:
    """A fresh worker's RSS before and after `cached` trajectories enter its cache."""
    while stack.workers:
        await stack.stop_worker()
    worker = await stack.start_worker()
    warm, measured = everyone[:20], everyone[20 : 20 + cached]
    await touch_all(stack, warm)
    await asyncio.sleep(1)
    before = worker.rss()
    await touch_all(stack, measured)
    await asyncio.sleep(2)
    after = worker.rss()
    per = (after - before) / max(1, len(measured))
    return {
        "cached": len(measured),
        "worker_rss_before_mib": round(before / MIB, 1),
        "worker_rss_after_mib": round(after / MIB, 1),
        "kib_per_trajectory": round(per / 1024, 1),
        "mib_per_1000": round(per * 1000 / MIB, 1),
    }


async def report_query(stack: Stack, runs: int) -> dict[str, Any]:
    """`GET /v1/reports/programme` timed `runs` times, at the participants there are now."""
    con = await stack.database()
    try:
        participants = await con.fetchval("SELECT count(*) FROM participants")
    finally:
        await con.close()
    times: list[float] = []
    async with httpx.AsyncClient(timeout=300.0) as http:
        for _ in range(runs):
            began = time.monotonic()
            answer = await http.get(
                f"{stack.api_url}/v1/reports/programme",
                headers={"Authorization": f"Bearer {stack.keys['backend']}"},
            )
            times.append(time.monotonic() - began)
            answer.raise_for_status()
    return {
        "participants": participants,
        "runs": runs,
        **percentiles_ms(times),
        "max_ms": round(max(times) * 1000, 1),
    }


def sample(everyone: Sequence[Person], size: int, seed: int = 11) -> list[Person]:
    """A random sample (everyone when fewer)."""
    chosen = list(everyone)
    random.Random(seed).shuffle(chosen)
    return chosen[:size]
