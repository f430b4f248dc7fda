"""Every payload encryption is counted under its key, in PostgreSQL, over the key's whole life.

AES-GCM under random nonces is good for 2^32 encryptions per key: the count tells an operator
when to rotate (docs/operations.md, "Rotating keys"), whatever the processes that made them.
"""

import asyncio
import secrets

from temporalio.api.common.v1 import Payload

from api.metrics import ProgrammeFigures
from infra.codec import EncryptionCodec, Encryptions, Keyring
from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel.key_uses import add_key_uses, keep_adding_key_uses

CLEAR = Payload(metadata={"encoding": b"json/plain"}, data=b'"1080"')


def fresh_codec() -> tuple[str, EncryptionCodec]:
    key_id = f"uses-{secrets.token_hex(4)}"
    return key_id, EncryptionCodec(Keyring.generate(key_id))


async def counted(pool: Pool, key_id: str) -> int:
    found = await pool.fetchval(
        "SELECT encryptions FROM payload_key_uses WHERE key_id = $1", key_id
    )
    return int(found or 0)


async def test_encryptions_add_up_under_their_key_over_every_addition(pool: Pool) -> None:
    key_id, codec = fresh_codec()
    await codec.encode([CLEAR] * 5)
    await add_key_uses(pool)
    first = await pool.fetchval(
        "SELECT first_counted_at FROM payload_key_uses WHERE key_id = $1", key_id
    )
    await codec.encode([CLEAR] * 2)
    await codec.encode([CLEAR])
    await add_key_uses(pool)  # as another process (or this one, later) adds its own

    assert await counted(pool, key_id) == 8
    assert (
        await pool.fetchval(
            "SELECT first_counted_at FROM payload_key_uses WHERE key_id = $1", key_id
        )
        == first
    )


async def test_a_count_postgresql_does_not_take_is_added_the_next_time(
    pool: Pool, database_url: str
) -> None:
    key_id, codec = fresh_codec()
    await codec.encode([CLEAR] * 3)
    closed = await open_pool(Settings(database_url=database_url))
    await closed.close()

    assert await add_key_uses(closed) == 0
    await add_key_uses(pool)

    assert await counted(pool, key_id) == 3


async def test_a_running_process_adds_its_count_periodically_and_when_it_stops(
    pool: Pool,
) -> None:
    """The count is this task's alone: an API or worker that other tests left running in this
    process adds the process-wide count (`ENCRYPTIONS`) on its own schedule."""
    key_id = f"uses-{secrets.token_hex(4)}"
    encryptions = Encryptions()
    stop = asyncio.Event()
    adding = asyncio.create_task(keep_adding_key_uses(pool, stop, 0.1, encryptions))
    encryptions.count(key_id, 4)
    for _ in range(50):
        if await counted(pool, key_id) == 4:
            break
        await asyncio.sleep(0.05)
    assert await counted(pool, key_id) == 4

    encryptions.count(key_id, 1)
    stop.set()
    await adding

    assert await counted(pool, key_id) == 5
    assert encryptions.take() == {}


async def test_metrics_show_each_keys_encryptions_and_which_key_is_current(pool: Pool) -> None:
    key_id, codec = fresh_codec()
    await codec.encode([CLEAR] * 6)
    await add_key_uses(pool)
    figures = ProgrammeFigures(current_key=key_id)

    await figures.refresh(pool)

    samples = {
        (sample.name, sample.labels["key_id"], sample.labels["current"]): sample.value
        for family in figures.collect()
        if family.name.startswith("parcours_payload_key")
        for sample in family.samples
    }
    assert samples[("parcours_payload_key_encryptions", key_id, "true")] == 6
    assert ("parcours_payload_key_first_counted_timestamp_seconds", key_id, "true") in samples
