"""Consent per channel and numbers that sent STOP: what the outbox may use (DESIGN §8.2).

A participant's consent changes are kept, the latest per channel counts, and the timeline shows
each with who made it. A number that sent STOP gets no SMS again, whoever it belongs to; the
number itself is never stored, only its keyed hash.
"""

from datetime import datetime

from infra.database import Connection
from readmodel.actors import actor_values
from readmodel.outbox import participants_texted
from trajectory.actors import Actor
from trajectory.delivery import MessageChannel

_RECORD = """
INSERT INTO consents (
    participant_id, channel, allowed, source, actor_role, actor_partner_id, actor_key_id,
    actor_user_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING at
"""

_REFUSED = """
SELECT channel FROM (
    SELECT DISTINCT ON (channel) channel, allowed FROM consents
    WHERE participant_id = $1
    ORDER BY channel, recorded DESC
) latest
WHERE NOT allowed
"""

_OPT_OUT = """
INSERT INTO sms_opt_outs (fingerprint, key_id) VALUES ($1, $2)
ON CONFLICT (fingerprint) DO NOTHING
"""

_CARRY_OPT_OUT = """
INSERT INTO sms_opt_outs (fingerprint, key_id)
SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM sms_opt_outs WHERE fingerprint = ANY($3::bytea[]))
ON CONFLICT (fingerprint) DO NOTHING
"""

_OPTED_OUT = "SELECT EXISTS (SELECT 1 FROM sms_opt_outs WHERE fingerprint = ANY($1::bytea[]))"

_STOPPED = """
INSERT INTO consents (participant_id, channel, allowed, source)
SELECT participant_id, 'sms', false, 'sms_stop' FROM unnest($1::text[]) AS p(participant_id)
WHERE NOT EXISTS (
    SELECT 1 FROM consents c WHERE c.participant_id = p.participant_id AND c.channel = 'sms'
      AND c.recorded = (SELECT max(recorded) FROM consents l
                        WHERE l.participant_id = p.participant_id AND l.channel = 'sms')
      AND NOT c.allowed
)
RETURNING participant_id
"""
"""An SMS refusal for each participant the number reached, unless SMS is refused already."""


async def record_consent(
    con: Connection,
    participant_id: str,
    channel: MessageChannel,
    allowed: bool,
    actor: Actor | None,
) -> datetime:
    """A caller's change of consent, as the timeline shows it; when it was recorded."""
    at: datetime = await con.fetchval(
        _RECORD, participant_id, channel, allowed, "api", *actor_values(actor)
    )
    return at


async def refused_channels(con: Connection, participant_id: str) -> set[str]:
    """The channels the participant's latest consent refuses."""
    return {row["channel"] for row in await con.fetch(_REFUSED, participant_id)}


async def number_opted_out(con: Connection, fingerprints: list[bytes]) -> bool:
    """Whether the number with these fingerprints (one per person key) sent STOP."""
    return bool(await con.fetchval(_OPTED_OUT, fingerprints))


async def stop_number(con: Connection, fingerprints: list[bytes], key_id: str) -> list[str]:
    """The number with these fingerprints (the current key's first) sent STOP: no SMS goes to it
    again. Returns the participants it was texted for, whose SMS consent is now refused."""
    await con.execute(_OPT_OUT, fingerprints[0], key_id)
    texted = await participants_texted(con, fingerprints)
    return [row["participant_id"] for row in await con.fetch(_STOPPED, texted)]


async def carry_opt_out(con: Connection, fingerprints: list[bytes], key_id: str) -> None:
    """A person's number that sent STOP under an older key (`fingerprints`, the current key's
    first) is refused under the current key too, so the STOP outlives the old key (a key
    rotation; the number itself is not kept, so only a person's number can be carried)."""
    await con.execute(_CARRY_OPT_OUT, fingerprints[0], key_id, fingerprints[1:])
