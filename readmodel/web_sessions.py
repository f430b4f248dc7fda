"""Web app sessions and staff sign-ins under way, as stored (`web_sessions`, `web_sign_ins`).

A session is found by the SHA-256 of its token, never the token; each look-up that finds a
live session also marks it seen, so the idle expiry counts from the last request.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from infra.database import Pool
from trajectory.actors import Role

_START_WITH_KEY = """
INSERT INTO web_sessions (token_hash, role, partner_id, key_id, user_label)
SELECT $1, role, partner_id, key_id, coalesce($3, label, role || ' ' || key_id)
FROM api_keys
WHERE key_id = $2 AND revoked_at IS NULL AND role IN ('case_manager', 'partner')
RETURNING user_label
"""

_START_SIGNED_IN = """
INSERT INTO web_sessions (token_hash, role, partner_id, key_id, user_label)
VALUES ($1, $2, $3, NULL, $4)
"""

_LIVE = """
seen_at > now() - $2::interval AND created_at > now() - $3::interval
AND (key_id IS NULL OR EXISTS (
    SELECT 1 FROM api_keys k WHERE k.key_id = web_sessions.key_id AND k.revoked_at IS NULL
))
"""

_TOUCH = f"""
UPDATE web_sessions SET seen_at = now()
WHERE token_hash = $1 AND {_LIVE}
RETURNING role, partner_id, key_id, user_label
"""

_END = "DELETE FROM web_sessions WHERE token_hash = $1"

_FORGET_ENDED = """
DELETE FROM web_sessions WHERE seen_at <= now() - $1::interval OR created_at <= now() - $2::interval
"""

_START_SIGN_IN = "INSERT INTO web_sign_ins (state_hash, nonce, verifier) VALUES ($1, $2, $3)"

_TAKE_SIGN_IN = """
DELETE FROM web_sign_ins WHERE state_hash = $1
RETURNING nonce, verifier, created_at > now() - $2::interval AS fresh
"""

_FORGET_SIGN_INS = "DELETE FROM web_sign_ins WHERE created_at <= now() - $1::interval"


def token_hash(token: str) -> bytes:
    """What is stored of a session token or a sign-in's state."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class StoredSession:
    """Who a live session belongs to."""

    role: Role
    partner_id: str | None
    key_id: str | None
    user_label: str


@dataclass(frozen=True)
class Expiry:
    """How long a session lives: since its last request, and at most since it began."""

    idle: timedelta
    lifetime: timedelta


async def start_with_key(
    pool: Pool, token: str, key_id: str, user_label: str | None, expiry: Expiry
) -> str | None:
    """A session for the holder of the live partner or case-manager key `key_id`; the label it
    records (`user_label`, else the key's); None for any other key. Sessions that ended are
    forgotten on the way."""
    async with pool.acquire() as con:
        await con.execute(_FORGET_ENDED, expiry.idle, expiry.lifetime)
        label: str | None = await con.fetchval(
            _START_WITH_KEY, token_hash(token), key_id, user_label
        )
    return label


async def start_signed_in(
    pool: Pool, token: str, role: Role, partner_id: str | None, user_label: str
) -> None:
    """A session for a person the identity provider vouched for (no key behind it)."""
    await pool.execute(_START_SIGNED_IN, token_hash(token), role, partner_id, user_label)


async def live_session(pool: Pool, token: str, expiry: Expiry) -> StoredSession | None:
    """The session `token` opens, marked seen now; None once it ended, expired or its key was
    revoked."""
    row = await pool.fetchrow(_TOUCH, token_hash(token), expiry.idle, expiry.lifetime)
    if row is None:
        return None
    return StoredSession(
        role=Role(row["role"]),
        partner_id=row["partner_id"],
        key_id=row["key_id"],
        user_label=row["user_label"],
    )


async def end_session(pool: Pool, token: str) -> None:
    """Log out: the token opens nothing any more."""
    await pool.execute(_END, token_hash(token))


async def start_sign_in(pool: Pool, state: str, nonce: str, verifier: str) -> None:
    """Remember a sign-in sent to the identity provider."""
    await pool.execute(_START_SIGN_IN, token_hash(state), nonce, verifier)


async def take_sign_in(pool: Pool, state: str, within: timedelta) -> tuple[str, str] | None:
    """The nonce and PKCE verifier of the sign-in `state` began within `within`, used up now;
    None for an unknown, used or stale state. Older sign-ins are forgotten on the way."""
    async with pool.acquire() as con:
        row = await con.fetchrow(_TAKE_SIGN_IN, token_hash(state), within)
        await con.execute(_FORGET_SIGN_INS, within)
    if row is None or not row["fresh"]:
        return None
    return row["nonce"], row["verifier"]
