"""API keys as stored (DESIGN §8): their form, their hash, and the `api_keys` rows.

A key reads `prc_<key_id>_<secret>`: the id finds the row and names the key in listings, the
32 random bytes of the secret make it unguessable. Only a SHA-256 of a key is stored; the key
itself is shown once. `python -m starter keys ...` is the command line (`starter/keys.py`).
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from infra.database import Pool
from trajectory.actors import Role
from trajectory.programmes import UnknownPartner, load_programme

KEY_PREFIX = "prc_"
_KEY = re.compile(r"prc_([0-9a-f]{12})_[A-Za-z0-9_\-]{43}")
_REFERENCE = re.compile(r"(?:prc_)?([0-9a-f]{4,12})")

_COLUMNS = "key_id, role, partner_id, label, created_at, revoked_at"
_INSERT = f"""
INSERT INTO api_keys (key_id, key_hash, role, partner_id, label) VALUES ($1, $2, $3, $4, $5)
RETURNING {_COLUMNS}
"""
_STARTING_WITH = f"SELECT {_COLUMNS} FROM api_keys WHERE key_id LIKE $1 || '%' LIMIT 2"
_REVOKE = f"""
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1
RETURNING {_COLUMNS}
"""
_EVERY_KEY = f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id"
_BY_ID = f"SELECT key_hash, {_COLUMNS} FROM api_keys WHERE key_id = $1"
_ACTIVE_IDS = "SELECT key_id FROM api_keys WHERE revoked_at IS NULL"


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    role: Role
    partner_id: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def prefix(self) -> str:
        """The start of the key, enough to recognise it."""
        return f"{KEY_PREFIX}{self.key_id}"

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "ApiKey":
        return cls(
            key_id=row["key_id"],
            role=Role(row["role"]),
            partner_id=row["partner_id"],
            label=row["label"],
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `key` is shown once and never stored."""

    key: str
    record: ApiKey


@dataclass(frozen=True)
class StoredKey:
    """A stored key and the hash a presented key must match."""

    key_hash: bytes
    record: ApiKey


class KeyRequestError(ValueError):
    """A key request that cannot be carried out; `option` names the CLI option at fault."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def hash_key(key: str) -> bytes:
    """The stored form of a key; a fast hash suits a 256-bit random secret."""
    return hashlib.sha256(key.encode()).digest()


def key_id_of(key: str) -> str | None:
    """The id inside a well-formed key, or None."""
    match = _KEY.fullmatch(key)
    return match.group(1) if match else None


def check_key_request(role: Role, partner_id: str | None) -> None:
    """A partner key belongs to exactly one known partner; other keys to none."""
    if role != Role.PARTNER:
        if partner_id is not None:
            raise KeyRequestError("--partner", f"only partner keys name a partner, not {role} keys")
        return
    if partner_id is None:
        raise KeyRequestError("--partner", "a partner key needs the partner id")
    try:
        load_programme(partner_id)
    except UnknownPartner as error:
        raise KeyRequestError("--partner", str(error)) from None


async def create_key(
    pool: Pool, role: Role, partner_id: str | None = None, label: str | None = None
) -> IssuedKey:
    """Issue a key and store its hash."""
    check_key_request(role, partner_id)
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    row = await pool.fetchrow(_INSERT, key_id, hash_key(key), role.value, partner_id, label)
    assert row is not None
    return IssuedKey(key=key, record=ApiKey.from_row(row))


async def revoke_key(pool: Pool, reference: str) -> ApiKey:
    """Revoke the key named by its id, its `prc_<id>` prefix or the key itself; at once."""
    key_id = key_id_of(reference)
    if key_id is None:
        match = _REFERENCE.fullmatch(reference)
        if match is None:
            raise KeyRequestError("KEY", "give a key id (hex), its prc_ prefix or the key itself")
        key_id = match.group(1)
    rows = await pool.fetch(_STARTING_WITH, key_id)
    if not rows:
        raise KeyRequestError("KEY", f"no key starts with {key_id}")
    if len(rows) > 1:
        raise KeyRequestError("KEY", f"several keys start with {key_id}; give more of the id")
    row = await pool.fetchrow(_REVOKE, rows[0]["key_id"])
    assert row is not None
    return ApiKey.from_row(row)


async def list_keys(pool: Pool) -> list[ApiKey]:
    """Every key, oldest first, without secrets."""
    return [ApiKey.from_row(row) for row in await pool.fetch(_EVERY_KEY)]


async def read_key(pool: Pool, key_id: str, timeout: float) -> StoredKey | None:
    """The key with id `key_id` and its hash, None when there is none; waits at most `timeout`
    seconds for a connection and as long for the answer."""
    async with pool.acquire(timeout=timeout) as con:
        row = await con.fetchrow(_BY_ID, key_id, timeout=timeout)
    if row is None:
        return None
    key_hash: bytes = row["key_hash"]
    return StoredKey(key_hash=key_hash, record=ApiKey.from_row(row))


async def active_key_ids(pool: Pool, timeout: float) -> frozenset[str]:
    """The ids of every key not revoked (ids only: no hash, no secret)."""
    async with pool.acquire(timeout=timeout) as con:
        rows = await con.fetch(_ACTIVE_IDS, timeout=timeout)
    return frozenset(row["key_id"] for row in rows)
