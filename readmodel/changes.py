"""Writing a trajectory's steps: milestones, phase changes (and the webhook events they make),
steering actions, closed tasks, nudge effects, partner stints, snapshot, follow-ups, and
releasing the person once the trajectory closed.

Every write is idempotent and ordered by the workflow's revision: a milestone or transition is
inserted once, and the snapshot and follow-up rows keep the highest revision written, so a batch
that arrives late or twice never overwrites a newer state. Free text is sealed with the
participant's data key on the way in (`readmodel.free_text`); none is stored in clear.
"""

from collections.abc import Sequence
from typing import Any

import structlog

from infra.database import Connection
from infra.person_keys import PersonKeys
from readmodel.actors import actor_values
from readmodel.free_text import Sealer, sealer, split_payload
from readmodel.trajectories import store_snapshot
from readmodel.webhooks import queue_events
from trajectory.events import transition_events
from trajectory.phases import Status
from trajectory.records import ReadModelChanges

log = structlog.stdlib.get_logger(__name__)

_INSERT_MILESTONE = """
INSERT INTO milestones (
    participant_id, milestone_id, type, occurred_at, recorded_by, payload, phase,
    actor_role, actor_partner_id, actor_key_id, actor_user_id, sealed_payload, sealed_fields,
    fingerprint
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT DO NOTHING
"""

_INSERT_STEERING = """
INSERT INTO steering_actions (
    participant_id, seq, action, reason_sealed, at,
    actor_role, actor_partner_id, actor_key_id, actor_user_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (participant_id, seq) DO UPDATE SET
    action = EXCLUDED.action, reason_sealed = EXCLUDED.reason_sealed, at = EXCLUDED.at,
    actor_role = EXCLUDED.actor_role, actor_partner_id = EXCLUDED.actor_partner_id,
    actor_key_id = EXCLUDED.actor_key_id, actor_user_id = EXCLUDED.actor_user_id
WHERE steering_actions.at < EXCLUDED.at
"""
"""Once per step; a later step under the same number comes from a reset and replaces it."""

_CLOSE_TASK = """
UPDATE tasks SET done_at = $2, reached = $3, note_sealed = $4,
    actor_role = $5, actor_partner_id = $6, actor_key_id = $7, actor_user_id = $8,
    done_recorded = nextval('timeline_order')
WHERE task_id = $1 AND done_at IS NULL
"""

_INSERT_TRANSITION = """
INSERT INTO phase_transitions (participant_id, seq, from_phase, to_phase, status, code, detail, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (participant_id, seq) DO UPDATE SET
    from_phase = EXCLUDED.from_phase, to_phase = EXCLUDED.to_phase, status = EXCLUDED.status,
    code = EXCLUDED.code, detail = EXCLUDED.detail, at = EXCLUDED.at
WHERE phase_transitions.at < EXCLUDED.at
"""
"""Once per step; a later step under the same number comes from a reset and replaces it."""

_MARK_CONTACT = """
UPDATE nudges SET contact_at = $2
WHERE participant_id = $1 AND contact_at IS NULL AND sent_at <= $2
"""

_NEW_STINT = """
INSERT INTO partner_stints (participant_id, partner_id, since)
SELECT $1, $2, $3 WHERE $2 IS DISTINCT FROM partner_at($1, $3)
ON CONFLICT DO NOTHING
"""
"""A reassignment starts the new partner's stint (every reassignment is a phase transition)."""

_RELEASE_PERSON = """
UPDATE person_fingerprints SET open = false WHERE participant_id = $1 AND open
"""
"""A closed trajectory no longer holds its person: they may be enrolled again (as the same
participant)."""

_FORGET_ERASED = """
DELETE FROM person_fingerprints f USING person_keys k
WHERE f.participant_id = $1 AND k.participant_id = $1 AND k.erased_at IS NOT NULL
"""
"""A person erased while their trajectory ran kept their fingerprint, so that nobody could
enrol them again meanwhile; once it closed, it goes."""

_UPSERT_FOLLOW_UP = """
INSERT INTO follow_up_checks (
    participant_id, name, due_at, answered_at, unanswered, in_employment,
    in_education_or_training, job_searching, qualification_gained, certificate_kind, revision
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (participant_id, name) DO UPDATE SET
    due_at = EXCLUDED.due_at, answered_at = EXCLUDED.answered_at,
    unanswered = EXCLUDED.unanswered, in_employment = EXCLUDED.in_employment,
    in_education_or_training = EXCLUDED.in_education_or_training,
    job_searching = EXCLUDED.job_searching, qualification_gained = EXCLUDED.qualification_gained,
    certificate_kind = EXCLUDED.certificate_kind, revision = EXCLUDED.revision
WHERE follow_up_checks.revision <= EXCLUDED.revision
"""


async def _each(con: Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """Run `statement` for each row; none, no round trip (most steps fill few tables)."""
    if rows:
        await con.executemany(statement, rows)


def _has_free_text(batch: Sequence[ReadModelChanges]) -> bool:
    """Whether any step carries text to seal (most carry none: no key needed)."""
    return any(
        (
            changes.milestone is not None
            and split_payload(changes.milestone.milestone.payload_json())[1]
        )
        or (changes.task_done is not None and changes.task_done.note is not None)
        or any(t.reason is not None for t in changes.transitions)
        for changes in batch
    )


def _reason(changes: ReadModelChanges, seq: int) -> str | None:
    """A case manager's words for the transition `seq` of this step."""
    return next((t.reason for t in changes.transitions if t.seq == seq), None)


async def write_changes(
    con: Connection, batch: Sequence[ReadModelChanges], keys: PersonKeys
) -> bool:
    """Write the steps of one trajectory, oldest first; False when a newer snapshot is stored.

    Run it inside a transaction: all of a batch is written, or nothing.
    """
    if not batch:
        return False
    newest = max(batch, key=lambda changes: changes.snapshot.revision)
    pid = newest.snapshot.participant_id
    has_text = _has_free_text(batch)
    texts = await sealer(con, pid, keys) if has_text else Sealer(pid, None)
    if has_text and texts.erased:
        log.info("free_text_dropped", participant_id=pid, reason="no data key (erased)")
    await _each(
        con,
        _INSERT_MILESTONE,
        [
            (
                pid,
                m.milestone.milestone_id,
                m.milestone.type,
                m.milestone.occurred_at,
                m.recorded_by,
                clear,
                changes.milestone_phase or changes.snapshot.phase,
                *actor_values(m.actor),
                texts.seal_fields(f"milestone/{m.milestone.milestone_id}", sealed),
                sorted(sealed),
                m.fingerprint,
            )
            for changes in batch
            if (m := changes.milestone) is not None
            for clear, sealed in [split_payload(m.milestone.payload_json())]
        ],
    )
    await _each(
        con,
        _INSERT_STEERING,
        [
            (
                pid,
                s.seq,
                s.action,
                texts.seal(f"steering/{s.seq}", _reason(changes, s.seq)),
                s.at,
                *actor_values(s.actor),
            )
            for changes in batch
            if (s := changes.steering) is not None
        ],
    )
    await _each(
        con,
        _CLOSE_TASK,
        [
            (
                t.task_id,
                t.done_at,
                t.reached,
                texts.seal(f"task/{t.task_id}", t.note),
                *actor_values(t.actor),
            )
            for changes in batch
            if (t := changes.task_done) is not None
        ],
    )
    await _each(
        con,
        _INSERT_TRANSITION,
        [
            (
                pid,
                t.seq,
                t.from_phase,
                t.to_phase,
                t.status,
                t.code,
                t.detail,
                t.at,
            )
            for changes in batch
            for t in changes.transitions
        ],
    )
    await queue_events(
        con,
        [
            event
            for changes in batch
            for t in changes.transitions
            for event in transition_events(
                pid, changes.snapshot.partner_id, t, changes.snapshot.outcome
            )
        ],
    )
    await _each(
        con,
        _MARK_CONTACT,
        [(pid, changes.contact_at) for changes in batch if changes.contact_at is not None],
    )
    await _each(
        con,
        _NEW_STINT,
        [
            (pid, changes.snapshot.partner_id, changes.transitions[0].at)
            for changes in batch
            if changes.transitions
        ],
    )
    kept = await store_snapshot(con, newest.snapshot, newest.at)
    if newest.snapshot.status == Status.CLOSED:
        await con.execute(_FORGET_ERASED, pid)
        await con.execute(_RELEASE_PERSON, pid)
    await _each(
        con,
        _UPSERT_FOLLOW_UP,
        [
            (
                pid,
                f.name,
                f.due_at,
                f.answered_at,
                f.unanswered,
                f.in_employment,
                f.in_education_or_training,
                f.job_searching,
                f.qualification_gained,
                f.certificate_kind,
                newest.snapshot.revision,
            )
            for f in newest.follow_ups
        ],
    )
    return kept
