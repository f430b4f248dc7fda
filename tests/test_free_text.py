"""Free text written in clear by an older release is sealed when a worker starts: a case manager
still reads it, the programme still counts it, and erasing the person shreds it."""

import uuid
from datetime import UTC, datetime
from typing import Any

from infra.database import Pool
from infra.person_keys import configured_person_keys
from infra.persons import erase_person
from infra.settings import get_settings
from readmodel.clear_texts import seal_clear_texts
from readmodel.free_text import ERASED, TEXT_FIELDS
from readmodel.timeline import timeline
from tests.conftest import Enrol
from tests.read_model_scan import found_in_read_model


async def _written_in_clear(pool: Pool, participant_id: str, tag: str) -> dict[str, str]:
    """A paused trajectory with a training completed and a coach's note, as release 4 wrote it."""
    words = {
        "qualification": f"food hygiene {tag}",
        "reason": f"burn-out {tag}",
        "note": f"left a voicemail {tag}",
    }
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO milestones (participant_id, milestone_id, type, occurred_at, recorded_by,"
        " payload, phase) VALUES ($1, 'done', 'training_completed', $2, 'partner', $3,"
        " 'training')",
        participant_id,
        now,
        {"qualification": words["qualification"]},
    )
    await pool.execute(
        "INSERT INTO phase_transitions (participant_id, seq, from_phase, to_phase, status,"
        " cause, at) VALUES ($1, 1, 'placement', 'placement', 'paused', $2, $3)",
        participant_id,
        f"paused: {words['reason']}",
        now,
    )
    await pool.execute(
        "INSERT INTO steering_actions (participant_id, seq, action, reason, at, actor_role)"
        " VALUES ($1, 1, 'pause', $2, $3, 'case_manager')",
        participant_id,
        words["reason"],
        now,
    )
    await pool.execute(
        "INSERT INTO tasks (participant_id, task_key, kind, partner_id, task_id, opened_at,"
        " done_at, reached, note) VALUES ($1, 'nudge-3', 'coach_call', 'jes', $2, $3, $3,"
        " false, $4)",
        participant_id,
        f"{participant_id}.3",
        now,
        words["note"],
    )
    return words


def _texts(entries: list[dict[str, Any]]) -> list[Any]:
    return [entry["texts"] for entry in entries if entry["texts"]]


async def test_texts_left_in_clear_are_sealed_readable_counted_and_shredded_with_the_person(
    pool: Pool, enrol: Enrol
) -> None:
    participant_id = await enrol()
    words = await _written_in_clear(pool, participant_id, uuid.uuid4().hex[:8])
    keys = configured_person_keys(get_settings())
    assert (await found_in_read_model(pool, list(words.values()))).keys() == set(words.values())

    assert await seal_clear_texts(pool, keys) >= 4

    assert await found_in_read_model(pool, list(words.values())) == {}
    assert _texts(await timeline(pool, participant_id, None, 100, keys)) == [
        {"payload": {"qualification": words["qualification"]}},
        {"reason": words["reason"]},
        {"note": words["note"]},
    ]
    counted = await pool.fetchval(
        "SELECT count(*) FROM milestones WHERE participant_id = $1"
        " AND 'qualification' = ANY(sealed_fields)",
        participant_id,
    )
    assert counted == 1
    assert (
        await pool.fetchval(
            "SELECT cause FROM phase_transitions WHERE participant_id = $1", participant_id
        )
        == "paused"
    )
    assert await seal_clear_texts(pool, keys) == 0, "nothing is sealed twice"

    async with pool.acquire() as con:
        assert await erase_person(con, participant_id)
    assert _texts(await timeline(pool, participant_id, None, 100, keys)) == [
        {"payload": {"qualification": ERASED}},
        {"reason": ERASED},
        {"note": ERASED},
    ]


async def test_texts_of_someone_erased_before_they_were_sealed_are_dropped(
    pool: Pool, enrol: Enrol
) -> None:
    participant_id = await enrol()
    async with pool.acquire() as con:
        assert await erase_person(con, participant_id)
    words = await _written_in_clear(pool, participant_id, uuid.uuid4().hex[:8])

    await seal_clear_texts(pool, configured_person_keys(get_settings()))

    assert await found_in_read_model(pool, list(words.values())) == {}


def test_every_free_text_field_of_a_payload_is_sealed_and_no_code_is() -> None:
    assert {"coach_ref", "contract", "employer", "qualification", "reason", "sector"} == TEXT_FIELDS
