"""API keys: create, revoke and list them (DESIGN §8); only a SHA-256 of a key is stored.

A key reads `prc_<key_id>_<secret>`: the id finds the row and names the key in listings, the
32 random bytes of the secret make it unguessable. `python -m starter keys ...` is the CLI.
"""

import argparse
import asyncio
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from infra.database import Pool, open_pool
from infra.settings import get_settings
from readmodel import migrate
from trajectory.programmes import UnknownPartner, load_programme

KEY_PREFIX = "prc_"
_KEY = re.compile(r"prc_([0-9a-f]{12})_[A-Za-z0-9_\-]{43}")
_REFERENCE = re.compile(r"(?:prc_)?([0-9a-f]{4,12})")

_COLUMNS = "key_id, role, partner_id, label, created_at, revoked_at"


class Role(StrEnum):
    """What a key may do: enrol (backend), steer (case manager) or report (partner)."""

    BACKEND = "backend"
    CASE_MANAGER = "case_manager"
    PARTNER = "partner"


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
    row = await pool.fetchrow(
        f"INSERT INTO api_keys (key_id, key_hash, role, partner_id, label)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
        key_id,
        hash_key(key),
        role.value,
        partner_id,
        label,
    )
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
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM api_keys WHERE key_id LIKE $1 || '%' LIMIT 2", key_id
    )
    if not rows:
        raise KeyRequestError("KEY", f"no key starts with {key_id}")
    if len(rows) > 1:
        raise KeyRequestError("KEY", f"several keys start with {key_id}; give more of the id")
    row = await pool.fetchrow(
        f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1"
        f" RETURNING {_COLUMNS}",
        rows[0]["key_id"],
    )
    assert row is not None
    return ApiKey.from_row(row)


async def list_keys(pool: Pool) -> list[ApiKey]:
    """Every key, oldest first, without secrets."""
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id")
    return [ApiKey.from_row(row) for row in rows]


# -- CLI ----------------------------------------------------------------------------------------


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`keys create|revoke|list`; run by `args.run(args) -> exit code`."""
    keys = subparsers.add_parser("keys", help="create, revoke and list API keys")
    actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--partner", metavar="ID", help="the partner id of a partner key")
    create.add_argument("--label", help="who or what the key is for")
    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key", metavar="KEY_PREFIX_OR_ID")
    actions.add_parser("list", help="list keys (never their secrets)")
    keys.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out a `keys` command; 2 for a usage error, as argparse does."""
    try:
        return asyncio.run(_run(args))
    except KeyRequestError as error:
        sys.stderr.write(f"starter keys {args.keys_action}: error: {error}\n")
        return 2


async def _run(args: argparse.Namespace) -> int:
    if args.keys_action == "create":
        check_key_request(Role(args.role), args.partner)
    pool = await open_pool(get_settings())
    try:
        await migrate(pool)
        if args.keys_action == "create":
            issued = await create_key(pool, Role(args.role), args.partner, args.label)
            sys.stdout.write(f"{issued.key}\n")
            sys.stderr.write(
                f"created {_describe(issued.record)}; the key is shown only now: keep it safe\n"
            )
        elif args.keys_action == "revoke":
            revoked = await revoke_key(pool, args.key)
            sys.stdout.write(f"revoked {_describe(revoked)}\n")
        else:
            for key in await list_keys(pool):
                sys.stdout.write(f"{_describe(key)}\n")
    finally:
        await pool.close()
    return 0


def _describe(key: ApiKey) -> str:
    owner = f" {key.partner_id}" if key.partner_id else ""
    label = f" ({key.label})" if key.label else ""
    state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    return f"{key.prefix}… {key.role}{owner}{label} created {key.created_at:%Y-%m-%d} {state}"
