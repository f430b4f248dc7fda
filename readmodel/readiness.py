"""Whether PostgreSQL answers, for the API's readiness probe."""

from infra.database import Pool


async def database_answers(pool: Pool, timeout: float) -> bool:
    """True when a trivial query comes back within `timeout` seconds; raises when it fails."""
    return bool(await pool.fetchval("SELECT 1", timeout=timeout))
