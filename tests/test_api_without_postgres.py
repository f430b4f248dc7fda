"""PostgreSQL away: partners go on reporting milestones; lists wait; keys expire on time."""

from datetime import UTC, datetime

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from api.auth import STALE_LIMIT, KeyCache
from infra.database import DATABASE_DOWN, Pool, open_pool
from infra.settings import Settings
from readmodel.api_keys import create_key, revoke_key
from tests.api_fixtures import EnrolByApi, Keys, bearer
from tests.outage import Outage
from trajectory.actors import Role


async def test_a_partner_keeps_reporting_milestones_while_postgresql_is_away(
    dev_env: WorkflowEnvironment,
    enrol_by_api: EnrolByApi,
    keys: Keys,
    outage: tuple[Outage, str],
) -> None:
    participant_id = await enrol_by_api("jes")
    relay, url = outage
    settings = Settings(temporal_namespace=dev_env.client.namespace, key_cache_seconds=0)
    app = create_app(settings)
    pool = await open_pool(settings.model_copy(update={"database_url": url}))
    hold(app, dev_env.client, pool, settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api:
            path = f"/v1/participants/{participant_id}"
            assert (await api.get(path, headers=bearer(keys.jes))).status_code == 200

            await relay.cut()
            contact = {
                "milestone_id": "jes-call-while-db-down",
                "type": "participant_contact",
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": {},
            }
            answer = await api.post(f"{path}/milestones", json=contact, headers=bearer(keys.jes))
            assert answer.status_code == 200, answer.text
            assert answer.json()["last_milestone"]["type"] == "participant_contact"
            read = await api.get(path, headers=bearer(keys.jes))
            assert read.status_code == 200 and read.json()["milestone_count"] == 1

            listing = await api.get("/v1/participants", headers=bearer(keys.jes))
            assert (listing.status_code, listing.json()["error"]) == (503, "database_unavailable")
            unseen = await api.get(path, headers=bearer(keys.inbrussel))
            assert (unseen.status_code, unseen.json()["error"]) == (503, "database_unavailable")
    finally:
        pool.terminate()


async def test_a_revoked_key_works_until_the_cache_forgets_it_then_never_again(
    pool: Pool,
) -> None:
    issued = await create_key(pool, Role.PARTNER, "jes")
    clock = [1000.0]
    cache = KeyCache(pool, ttl=30, clock=lambda: clock[0])
    caller = await cache.caller(issued.key)
    assert caller is not None and (caller.role, caller.partner_id) == (Role.PARTNER, "jes")

    await revoke_key(pool, issued.record.key_id)
    clock[0] += 29
    assert await cache.caller(issued.key) == caller
    clock[0] += 2
    assert await cache.caller(issued.key) is None
    assert await cache.caller(issued.key.replace(issued.key[-4:], "AAAA")) is None


async def test_a_cached_key_serves_while_postgresql_is_away_but_not_forever(
    outage: tuple[Outage, str],
) -> None:
    relay, url = outage
    pool = await open_pool(Settings(database_url=url))
    try:
        issued = await create_key(pool, Role.CASE_MANAGER)
        clock = [1000.0]
        cache = KeyCache(pool, ttl=30, clock=lambda: clock[0])
        assert await cache.caller(issued.key) is not None
        await relay.cut()
        clock[0] += STALE_LIMIT - 1
        assert await cache.caller(issued.key) is not None
        clock[0] += 2
        with pytest.raises(DATABASE_DOWN):
            await cache.caller(issued.key)
    finally:
        pool.terminate()
