"""The image, built and run (`make test-image`): its `migrate`, worker and API as containers.

They run against a Temporal dev server and an embedded PostgreSQL on this host (host network),
each on a port of its own, as the non-root user of the image with a read-only root filesystem
and no capabilities, as the Kubernetes manifests run them. A partner's milestone goes in
through the container's API, the worker container is killed, and nothing is lost.

Not part of `make test` (marked `image`: building and starting containers takes minutes);
skipped where podman is missing.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from infra.contract import SEARCH_ATTRIBUTES, workflow_id
from infra.settings import Settings
from infra.temporal import connect
from tests.api_fixtures import bearer, enrolment_body
from tests.containers import (
    Container,
    bare_dev_server,
    containers,
    ensure_image,
    free_port,
    fresh_database,
    key_spec,
    podman_missing,
    run_once,
    start,
    wait_until_ready,
)
from tests.test_migrations import VERSIONS
from workflows.trajectory import ParticipantTrajectory

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(podman_missing() is not None, reason=str(podman_missing())),
]

IMAGE_USER = "10001"


@dataclass(frozen=True)
class Deployment:
    """The image's processes on this host, and what the test needs to talk to them."""

    env: dict[str, str]
    """The containers' environment: addresses, database, keys, ports."""
    database_url: str
    client: Client
    """On the dev server with the containers' payload keys, to ask a workflow directly."""
    api_url: str
    api: Container
    worker: Container
    keys: dict[str, str]
    started: list[Container]
    """Every container started, removed at the end (a test adds a replacement worker)."""


async def _cli_key(env: dict[str, str], *role: str) -> str:
    code, output = await asyncio.to_thread(run_once, ["cli", "keys", "create", *role], env)
    assert code == 0, output
    return output.split()[0]


@pytest.fixture(scope="module")
async def deployment(database_url: str) -> AsyncIterator[Deployment]:
    """`migrate`, then a worker and the API, from the image, on a fresh database and namespace."""
    await asyncio.to_thread(ensure_image)
    async with bare_dev_server() as temporal, fresh_database(database_url) as database:
        api_port = free_port()
        env = {
            "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": temporal.client.namespace,
            "DATABASE_URL": database,
            "PARCOURS_CODEC_KEYS": key_spec("image-test"),
            "PARCOURS_PERSON_KEYS": key_spec("image-test-persons"),
            "PARCOURS_API_PORT": str(api_port),
            "PARCOURS_METRICS_PORT": str(free_port()),
        }
        code, output = await asyncio.to_thread(run_once, ["migrate"], env)
        assert code == 0, f"parcours migrate failed in the image:\n{output}"
        client = await connect(Settings.model_validate({**env, "PARCOURS_ENV": "production"}))
        keys = {
            "backend": await _cli_key(env, "--role", "backend"),
            "jes": await _cli_key(env, "--role", "partner", "--partner", "jes"),
        }
        with containers() as started:
            worker = start(["worker"], env)
            started.append(worker)
            await worker.wait_for_log("worker_started")
            api = start(["api"], env)
            started.append(api)
            api_url = f"http://127.0.0.1:{api_port}"
            await wait_until_ready(f"{api_url}/readyz", api)
            yield Deployment(env, database, client, api_url, api, worker, keys, started)


async def test_migrate_prepared_the_database_and_registered_the_search_attributes(
    deployment: Deployment,
) -> None:
    con = await asyncpg.connect(deployment.database_url)
    try:
        applied = await con.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await con.close()
    assert [row["version"] for row in applied] == VERSIONS
    # The dev server started without them: the image's `migrate` added them.
    listed = await deployment.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=deployment.client.namespace)
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)


def test_the_containers_run_as_a_non_root_user_on_a_read_only_root(
    deployment: Deployment,
) -> None:
    for container in (deployment.worker, deployment.api):
        status = container.exec("cat", "/proc/1/status").stdout
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert set(uids) == {IMAGE_USER}, f"{container.name} runs as {uids}"
        written = container.exec("touch", "/opt/parcours/planted")
        assert written.returncode != 0 and "Read-only file system" in written.stderr
        assert container.inspect("{{.HostConfig.ReadonlyRootfs}}") == "true"
        # The only writable place the processes get is a fresh /tmp.
        assert container.exec("touch", "/tmp/scratch").returncode == 0


async def test_a_milestone_outlives_the_worker_container_being_killed(
    deployment: Deployment,
) -> None:
    backend, jes = bearer(deployment.keys["backend"]), bearer(deployment.keys["jes"])
    async with httpx.AsyncClient(base_url=deployment.api_url, timeout=60) as api:
        enrolled = await api.post("/v1/participants", json=enrolment_body("jes"), headers=backend)
        assert enrolled.status_code == 201, enrolled.text
        participant_id = enrolled.json()["participant_id"]
        url = f"/v1/participants/{participant_id}/milestones"
        intake = _milestone("image-intake", "intake_interview_held")
        accepted = await api.post(url, json=intake, headers=jes)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["phase"] == "assessment"

        deployment.worker.kill()
        replacement = start(["worker"], deployment.env)
        deployment.started.append(replacement)
        await replacement.wait_for_log("worker_started")

        handle = deployment.client.get_workflow_handle(workflow_id(participant_id))
        snapshot = await handle.query(ParticipantTrajectory.snapshot)
        assert snapshot.phase == "assessment"
        await _milestones_in_read_model(deployment.database_url, participant_id, 1)
        # The trajectory goes on where it was: a repeat is recognised, a new step is taken.
        repeated = await api.post(url, json=intake, headers=jes)
        assert repeated.status_code == 200, repeated.text
        contact = _milestone("image-contact", "participant_contact")
        taken = await api.post(url, json=contact, headers=jes)
        assert taken.status_code == 200, taken.text
    await _milestones_in_read_model(deployment.database_url, participant_id, 2)


def _milestone(milestone_id: str, milestone_type: str) -> dict[str, object]:
    occurred_at = datetime.now(UTC).isoformat()
    return {
        "milestone_id": milestone_id,
        "type": milestone_type,
        "occurred_at": occurred_at,
        "payload": {},
    }


async def _milestones_in_read_model(database_url: str, participant_id: str, count: int) -> None:
    """Wait until the read model holds exactly `count` milestones of the participant (up to
    90 s: a killed worker's activity is tried again once its timeout has passed)."""
    deadline = time.monotonic() + 90
    con = await asyncpg.connect(database_url)
    try:
        query = "SELECT count(*) FROM milestones WHERE participant_id = $1"
        while (found := await con.fetchval(query, participant_id)) != count:
            assert found < count, f"{found} milestones recorded, {count} expected"
            assert time.monotonic() < deadline, f"{found} of {count} milestones in the read model"
            await asyncio.sleep(0.5)
    finally:
        await con.close()
