"""Several worker processes on one task queue, through a crash and a rolling deploy.

Three `python -m worker` processes serve their own dev server while trajectories take rounds
of milestones. One worker is SIGKILLed with work in flight. Then the other two are replaced one
by one, as a rolling deploy does, by workers started from a copy of the source tree whose
workflow carries a change behind `workflow.patched(...)`; old and new code serve the running
trajectories side by side for a while. Every acknowledged milestone must be in the workflow's
state and in the read model, no workflow may fail and no workflow task may fail
(non-determinism).

A running trajectory keeps the branch it took (`patched` is decided once per run), so the old
and the new release can share it. A trajectory enrolled once the new release runs everywhere
takes the new branch, and its history no longer replays on the old release: the test pins
that too, because it is why docs/operations.md says to roll forward, not back, after such a
release, and not to enrol while old and new workers overlap.
"""

import asyncio
import os
import shutil
import signal
import socket
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from infra.codec import configured_keyring, data_converter
from infra.database import Pool
from infra.settings import get_settings
from tests.journeys import Journey
from tests.temporal_fixtures import dev_server, follow
from trajectory.milestones import MilestoneType
from workflows.trajectory import ParticipantTrajectory

ROOT = Path(__file__).parents[1]
SOURCE = ("trajectory", "infra", "workflows", "activities", "starter", "worker")
PATCH = "rolling-deploy-check"
"""The patch id of the test's new code version."""
PARTNERS = ("jes", "inbrussel", "orientaeuro", "groep-intro", "art2work", "backstage")
ROUNDS = 10
START_TIMEOUT = 60.0


@dataclass
class WorkerProcess:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def started(self) -> None:
        """Wait until the worker polls (it logs `worker_started`)."""
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while "worker_started" not in self.output():
            if self.process.returncode is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.output()[-3000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"worker {self.name} did not start:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.1)

    async def stop(self) -> int:
        """SIGTERM, as an orchestrator stops a pod; the worker drains and leaves."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=30)


async def start_worker(name: str, source: Path, env: dict[str, str], logs: Path) -> WorkerProcess:
    log = logs / f"worker-{name}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "worker",
            cwd=source,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    return WorkerProcess(name, process, log)


def new_code_version(scratch: Path) -> Path:
    """A copy of the source tree whose milestone update runs a patched branch."""
    tree = scratch / "next-release"
    for name in SOURCE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    workflow_file = tree / "workflows" / "trajectory.py"
    code = workflow_file.read_text()
    anchor = "        state, milestone_id = self._state, recorded.milestone.milestone_id\n"
    assert code.count(anchor) == 1, "the workflow changed: move the test's patch"
    changed = (
        f'        if workflow.patched("{PATCH}"):\n'
        '            workflow.logger.info("milestone_on_the_next_release")\n'
    )
    workflow_file.write_text(code.replace(anchor, anchor + changed))
    return tree


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of its own, speaking with the keys the worker processes will read."""
    async with dev_server(data_converter(configured_keyring(get_settings()))) as env:
        yield env


async def test_milestones_survive_a_killed_worker_and_a_rolling_deploy_of_a_patched_workflow(
    server: WorkflowEnvironment, pool: Pool, database_url: str, tmp_path: Path
) -> None:
    settings = get_settings()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PARCOURS_", "TEMPORAL_"))},
        "PARCOURS_ENV": "development",
        "TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
        "DATABASE_URL": database_url,
        # The keys of this test process: payloads and personal data stay readable by all.
        "PARCOURS_DATA_DIR": str(settings.data_dir.resolve()),
    }
    metrics_port = free_port()
    next_release = new_code_version(tmp_path)
    workers: dict[str, WorkerProcess] = {}
    try:
        for name in ("a", "b", "c"):
            extra = {"PARCOURS_METRICS_PORT": str(metrics_port)} if name == "c" else {}
            workers[name] = await start_worker(name, ROOT, {**env, **extra}, tmp_path)
        await asyncio.gather(*(worker.started() for worker in workers.values()))

        start = follow(server, pool)
        batches: dict[str, list[Journey]] = {"before": [], "after": []}
        acknowledged: dict[str, list[str]] = {}

        async def enrol(batch: str, partners: tuple[str, ...]) -> None:
            journeys = await asyncio.gather(*(start(partner) for partner in partners))
            batches[batch].extend(journeys)
            acknowledged.update({journey.participant_id: [] for journey in journeys})

        async def report(journey: Journey, n: int) -> None:
            milestone_id = f"contact-{n}"
            await journey.report(MilestoneType.PARTICIPANT_CONTACT, milestone_id=milestone_id)
            acknowledged[journey.participant_id].append(milestone_id)

        await enrol("before", PARTNERS * 2)
        scraped = ""
        for n in range(ROUNDS):
            if n == 7:
                await enrol("after", PARTNERS)  # only the new release runs
            journeys = [journey for batch in batches.values() for journey in batch]
            in_flight = asyncio.gather(*(report(journey, n) for journey in journeys))
            await asyncio.sleep(0.05)
            if n == 2:
                workers["a"].process.kill()  # a crash: no draining, work in flight is lost
            if n == 3:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
                    scraped = answer.read().decode()
            if n in (4, 6):
                # Rolling deploy: the new release starts, then an old worker stops.
                old = "b" if n == 4 else "c"
                new = await start_worker(f"{old}-next", next_release, env, tmp_path)
                await new.started()
                workers[new.name] = new
                assert await workers[old].stop() == 0, workers[old].output()[-3000:]
            await in_flight

        assert workers["a"].process.returncode == -signal.SIGKILL
        journeys = [journey for batch in batches.values() for journey in batch]
        for journey in journeys:
            state = await journey.state()
            assert list(state.milestones) == acknowledged[journey.participant_id]
            await journey.written(seconds=60)  # the read model follows the answers
            rows = await pool.fetch(
                "SELECT milestone_id FROM milestones WHERE participant_id = $1",
                journey.participant_id,
            )
            assert sorted(r["milestone_id"] for r in rows) == sorted(state.milestones)
        assert {len(acknowledged[j.participant_id]) for j in batches["before"]} == {ROUNDS}

        histories: list[WorkflowHistory] = []
        patched: dict[str, int] = {}
        for journey in journeys:
            assert (await journey.handle.describe()).status == WorkflowExecutionStatus.RUNNING
            history = await journey.handle.fetch_history()
            histories.append(history)
            kinds = [event.event_type for event in history.events]
            assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds, journey.participant_id
            patched[journey.participant_id] = sum(
                1
                for event in history.events
                if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                and PATCH.encode() in event.marker_recorded_event_attributes.SerializeToString()
            )
        assert [patched[j.participant_id] for j in batches["before"]] == [0] * len(PARTNERS * 2)
        assert [patched[j.participant_id] for j in batches["after"]] == [1] * len(PARTNERS)
        assert "milestone_on_the_next_release" in (
            workers["b-next"].output() + workers["c-next"].output()
        )

        # The old release replays what it could share, and cannot replay the new branch.
        replayer = Replayer(
            workflows=[ParticipantTrajectory], data_converter=server.client.data_converter
        )
        for journey, history in zip(journeys, histories, strict=True):
            result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            if journey in batches["before"]:
                assert result.replay_failure is None, result.replay_failure
            else:
                assert isinstance(result.replay_failure, NondeterminismError)
                assert PATCH in str(result.replay_failure)

        for series in (
            "temporal_worker_task_slots_available",
            "temporal_workflow_task_schedule_to_start_latency_bucket",
            "temporal_local_activity_execution_latency_bucket",  # intake, read-model writes
            "temporal_request",
        ):
            assert f"\n{series}{{" in scraped, f"{series} missing from the worker's metrics"
        assert 'task_queue="parcours"' in scraped
    finally:
        for worker in workers.values():
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()
