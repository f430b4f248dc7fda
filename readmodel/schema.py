"""The read model's schema: numbered plain-SQL migrations, applied once and tracked in a table."""

import hashlib
from importlib.resources import files

import structlog

from infra.database import Pool
from infra.settings import Settings

_MIGRATIONS = files("readmodel") / "migrations"
_MIGRATION_LOCK = "parcours:migrate"
_VERSIONS = "SELECT version FROM schema_migrations"
_DONE = "SELECT version, sha256 FROM schema_migrations"
_RECORD = "INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)"

BEFORE_RELEASE_1 = frozenset(
    {
        "001_trajectories",
        "002_api_keys",
        "003_person_keys",
        "004_training_and_results",
        "005_snapshot_columns_and_guards",
        "006_case_work",
        "007_one_person_and_results",
        "008_outbox_delivery",
        "009_needs_attention",
        "010_person_keyring",
        "011_sealed_free_text",
    }
)
"""The migrations of the releases before 1, which `001_baseline` replaced: never deployed, so
their databases are started afresh rather than migrated."""

log = structlog.stdlib.get_logger(__name__)


class StaleSchema(Exception):
    """The database was migrated by files this release does not have as they were: the chain
    that release 1 replaced, or another text of a migration (one folded into the baseline)."""


def start_afresh(settings: Settings) -> str:
    """What to do about a stale database, for the database `settings` use."""
    if settings.database_url is None:
        return f"delete the data directory and start again: rm -rf {settings.data_dir}"
    return "drop the database DATABASE_URL names, create it empty and start again"


async def migrate(pool: Pool) -> list[str]:
    """Apply the numbered SQL files not yet applied, each in its own transaction; return them.

    A session advisory lock makes concurrent starters wait for each other instead of racing.
    Raises `StaleSchema`, applying nothing, when the database was migrated by the chain that
    release 1 replaced or by another text of a file applied here.
    """
    scripts = sorted(
        (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
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
                " applied_at timestamptz NOT NULL DEFAULT now(),"
                " sha256 text NOT NULL)"
            )
            versions = {row["version"] for row in await con.fetch(_VERSIONS)}
            if replaced := sorted(versions & BEFORE_RELEASE_1):
                raise StaleSchema(
                    f"the database holds a read model from before release 1 (migrations "
                    f"{replaced[0]} to {replaced[-1]}), which this release does not migrate"
                )
            done = {row["version"]: row["sha256"] for row in await con.fetch(_DONE)}
            for version, script in scripts:
                digest = hashlib.sha256(script.encode()).hexdigest()
                if version in done:
                    if done[version] != digest:
                        raise StaleSchema(
                            f"the database was migrated by another text of {version}.sql, "
                            "which this release does not migrate"
                        )
                    continue
                async with con.transaction():
                    await con.execute(script)
                    await con.execute(_RECORD, version, digest)
                log.info("migration_applied", version=version)
                applied.append(version)
        finally:
            await con.execute("SELECT pg_advisory_unlock(hashtext($1))", _MIGRATION_LOCK)
    return applied
