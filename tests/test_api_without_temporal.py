"""Temporal away at start-up: the API starts, serves what PostgreSQL holds, and takes enrolments,
milestones and steering once Temporal answers, without a restart."""

import asyncio
import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api import connection
from api.app import create_app
from infra.database import Pool
from infra.settings import Settings
from tests.api_fixtures import EnrolByApi, Keys, bearer, enrolment_body, listed
from tests.keys import TEST_KEYS
from tests.temporal_fixtures import dev_server
from worker import build_worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def contact(milestone_id: str) -> dict[str, Any]:
    return {
        "milestone_id": milestone_id,
        "type": "participant_contact",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }


async def ready(api: httpx.AsyncClient, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while (await api.get("/readyz")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "the API never reached Temporal"
        await asyncio.sleep(0.2)


async def test_the_api_starts_without_temporal_serves_reads_and_takes_writes_once_it_is_up(
    enrol_by_api: EnrolByApi,
    keys: Keys,
    pool: Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = await enrol_by_api("jes")
    await listed(pool, known)
    monkeypatch.setattr(connection, "LONGEST_RETRY", 0.5)
    port = free_port()
    app = create_app(
        Settings(
            temporal_address=f"127.0.0.1:{port}",
            database_url=database_url,
            codec_keys=TEST_KEYS,
            key_cache_seconds=0,
        )
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    newcomer = enrolment_body("jes")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api,
    ):
        not_ready = await api.get("/readyz")
        assert (not_ready.status_code, not_ready.json()["detail"]) == (
            503,
            "not answering: temporal",
        )
        reads = [
            f"/v1/participants/{known}",
            f"/v1/participants/{known}/timeline",
            "/v1/participants?partner_id=jes",
            "/v1/reports/programme",
        ]
        for path in reads:
            answer = await api.get(path, headers=bearer(keys.case_manager))
            assert answer.status_code == 200, (path, answer.text)
        state = (await api.get(f"/v1/participants/{known}", headers=bearer(keys.jes))).json()
        assert (state["participant_id"], state["partner_id"]) == (known, "jes")

        writes = [
            (f"/v1/participants/{known}/milestones", contact("while-temporal-is-down"), keys.jes),
            (f"/v1/participants/{known}/pause", {"reason": "illness"}, keys.case_manager),
            ("/v1/participants", newcomer, keys.backend),
        ]
        for path, body, key in writes:
            answer = await api.post(path, json=body, headers=bearer(key))
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"] == "temporal_unavailable"
            assert "Temporal cannot be reached" in answer.json()["detail"]
            assert answer.headers["Retry-After"].isdigit()
        stored = "SELECT count(*) FROM participants WHERE external_ref = $1"
        assert await pool.fetchval(stored, newcomer["external_ref"]) == 0

        async with dev_server(port=port) as env, build_worker(env.client, pool):
            await ready(api)
            enrolled = await api.post(
                "/v1/participants", json=newcomer, headers=bearer(keys.backend)
            )
            assert enrolled.status_code == 201, enrolled.text
            participant_id = enrolled.json()["participant_id"]
            recorded = await api.post(
                f"/v1/participants/{participant_id}/milestones",
                json=contact(f"once-temporal-is-up-{participant_id}"),
                headers=bearer(keys.jes),
            )
            assert recorded.status_code == 200, recorded.text
            assert recorded.json()["milestone_count"] == 1
