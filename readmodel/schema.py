"""The read model's schema: numbered plain-SQL migrations, applied once and tracked in a table."""

from importlib.resources import files

import structlog

from infra.database import Pool

_MIGRATIONS = files("readmodel") / "migrations"
_MIGRATION_LOCK = "parcours:migrate"

log = structlog.stdlib.get_logger(__name__)


async def migrate(pool: Pool) -> list[str]:
    """Apply the numbered SQL files not yet applied, each in its own transaction; return them.

    A session advisory lock makes concurrent starters wait for each other instead of racing.
    """
    scripts = sorted(
        (entry.name.removesuffix(".sql"), entry)
        for entry in _MIGRATIONS.iterdir()
        if entry.name.endswith(".sql") and entry.name[:3].isdigit()
    )
    applied: list[str] = []
    async with pool.acquire() as con:
        await con.execute("SELECT pg_advisory_lock(hashtext($1))", _MIGRATION_LOCK)
        try:
            await con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row["version"] for row in await con.fetch("SELECT version FROM schema_migrations")
            }
            for version, script in scripts:
                if version in done:
                    continue
                async with con.transaction():
                    await con.execute(script.read_text(encoding="utf-8"))
                    await con.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                log.info("migration_applied", version=version)
                applied.append(version)
        finally:
            await con.execute("SELECT pg_advisory_unlock(hashtext($1))", _MIGRATION_LOCK)
    return applied
