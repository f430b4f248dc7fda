"""Partners reporting milestones through the HTTP API without pause, as their integrations do:
a request that fails for want of an answer is sent again, same milestone id, same content."""

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.parcours import Person

RETRY_FIRST_SECONDS = 0.2
RETRY_LONGEST_SECONDS = 2.0
GIVE_UP_SECONDS = 120.0
"""A client that gets no answer for this long gives up on the milestone (counted apart)."""
REQUEST_TIMEOUT = 40.0
"""Longer than the API's own wait for the workflow (30 s), which then answers 503."""


@dataclass(frozen=True)
class Ack:
    """A milestone answered 200, with when it was first sent and when it was answered."""

    participant_id: str
    milestone_id: str
    first_sent: float
    answered: float
    attempts: int


@dataclass(frozen=True)
class Refusal:
    """A 4xx: never expected here, every milestone sent is allowed."""

    participant_id: str
    milestone_id: str
    status: int
    body: str


@dataclass
class MilestoneStream:
    """`clients` partners' clients, each with its own people, reporting `participant_contact`."""

    api_url: str
    keys: dict[str, str]
    people: Sequence[Person]
    clients: int = 8
    acks: list[Ack] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    unanswered: list[tuple[str, str]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    """Answers that were retried, by status and error code, or by transport error."""
    pending: dict[str, tuple[Person, dict[str, Any]]] = field(default_factory=dict)
    """Requests under way: the person and the body, by milestone id."""
    _stopping: bool = field(default=False, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _http: httpx.AsyncClient | None = field(default=None, init=False)

    @property
    def in_flight(self) -> int:
        return len(self.pending)

    def start(self) -> None:
        limits = httpx.Limits(max_connections=self.clients + 2)
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits)
        self._tasks = [
            asyncio.create_task(self._client(self.people[c :: self.clients]))
            for c in range(self.clients)
        ]

    async def stop(self) -> None:
        """Send nothing new; wait for every milestone under way to be answered or given up."""
        self._stopping = True
        try:
            await asyncio.gather(*self._tasks)
        finally:
            if self._http is not None:
                await self._http.aclose()

    def answered_after(self, moment: float) -> int:
        """Milestones first sent after `moment` and answered 200 since."""
        return sum(1 for ack in self.acks if ack.first_sent > moment)

    def longest_silence(self, start: float, end: float) -> float:
        """The longest stretch between `start` and `end` without a 200."""
        times = sorted(a.answered for a in self.acks if start <= a.answered <= end)
        edges = [start, *times, end]
        return max(later - earlier for earlier, later in itertools.pairwise(edges))

    def first_answer_after(self, moment: float) -> float | None:
        """When the first milestone sent after `moment` was answered 200."""
        return min((ack.answered for ack in self.acks if ack.first_sent > moment), default=None)

    async def answers(self, count: int, after: float, seconds: float = 120.0) -> None:
        """Wait until `count` milestones first sent after `after` are answered 200."""
        deadline = time.monotonic() + seconds
        while self.answered_after(after) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.answered_after(after)} of {count} milestones answered in {seconds} s;"
                    f" retried: {dict(self.failures)}"
                )
            await asyncio.sleep(0.1)

    async def _client(self, mine: Sequence[Person]) -> None:
        n = 0
        while not self._stopping:
            await self._report(mine[n % len(mine)])
            n += 1

    async def _report(self, person: Person) -> None:
        milestone_id = f"fault-{uuid.uuid4().hex}"
        body = {
            "milestone_id": milestone_id,
            "type": "participant_contact",
            "occurred_at": datetime.now(UTC).isoformat(),
            "payload": {},
        }
        first_sent = time.monotonic()
        pause = RETRY_FIRST_SECONDS
        attempts = 0
        while time.monotonic() - first_sent < GIVE_UP_SECONDS:
            attempts += 1
            status, text = await self._post(person, body)
            if status == 200:
                self.acks.append(
                    Ack(person.participant_id, milestone_id, first_sent, time.monotonic(), attempts)
                )
                return
            if 400 <= status < 500:
                self.refusals.append(Refusal(person.participant_id, milestone_id, status, text))
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_LONGEST_SECONDS)
        self.unanswered.append((person.participant_id, milestone_id))

    async def _post(self, person: Person, body: dict[str, Any]) -> tuple[int, str]:
        """The answer's status and text; 0 and the error's name when none came."""
        assert self._http is not None
        self.pending[body["milestone_id"]] = (person, body)
        try:
            answer = await self._http.post(
                f"{self.api_url}/v1/participants/{person.participant_id}/milestones",
                headers={"Authorization": f"Bearer {self.keys[person.partner_id]}"},
                json=body,
            )
        except httpx.TransportError as error:
            self.failures[type(error).__name__] += 1
            return 0, type(error).__name__
        finally:
            del self.pending[body["milestone_id"]]
        if answer.status_code >= 500:
            self.failures[f"{answer.status_code} {_error_code(answer)}"] += 1
        return answer.status_code, answer.text


def _error_code(answer: httpx.Response) -> str:
    """The `error` of the contract's error shape, or what the body starts with."""
    try:
        return str(answer.json()["error"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:40]
