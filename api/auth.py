"""Who is calling: a Bearer API key, checked against its stored hash on every request.

No cache: a revoked key stops working with the next request.
"""

import hmac
from dataclasses import dataclass

from fastapi.security import HTTPBearer

from infra.database import Pool
from starter.keys import Role, hash_key, key_id_of

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `python -m starter keys create --role ...`",
)


@dataclass(frozen=True)
class Caller:
    """The holder of a valid key: its role and, for a partner, which partner."""

    key_id: str
    role: Role
    partner_id: str | None

    def may_see(self, partner_id: str) -> bool:
        """Whether this caller may see a participant of `partner_id`."""
        return self.role != Role.PARTNER or self.partner_id == partner_id


async def authenticate(pool: Pool, key: str) -> Caller | None:
    """The caller a key belongs to, or None for an unknown, malformed or revoked key."""
    key_id = key_id_of(key)
    if key_id is None:
        return None
    row = await pool.fetchrow(
        "SELECT key_hash, role, partner_id, revoked_at FROM api_keys WHERE key_id = $1", key_id
    )
    # The id is public; comparing the hashes in constant time leaks nothing about the secret.
    if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key)):
        return None
    if row["revoked_at"] is not None:
        return None
    return Caller(key_id=key_id, role=Role(row["role"]), partner_id=row["partner_id"])
