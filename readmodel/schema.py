"""The read model's schema: numbered plain-SQL migrations, applied once and tracked in a table."""

from importlib.resources import files

import structlog

from infra.database import Pool
from infra.settings import Settings

_MIGRATIONS = files("readmodel") / "migrations"
_MIGRATION_LOCK = "parcours:migrate"

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


class SchemaFromBeforeRelease1(Exception):
    """The database holds a read model built by migrations that release 1 replaced."""

    def __init__(self, versions: list[str]) -> None:
        super().__init__(
            f"the database holds a read model from before release 1 (migrations {versions[0]} "
            f"to {versions[-1]}), which this release does not migrate"
        )
        self.versions = versions


def start_afresh(settings: Settings) -> str:
    """What to do about a database from before release 1, for the database `settings` use."""
    if settings.database_url is None:
        return f"delete the data directory and start again: rm -rf {settings.data_dir}"
    return "drop the database DATABASE_URL names, create it empty and start again"


async def migrate(pool: Pool) -> list[str]:
    """Apply the numbered SQL files not yet applied, each in its own transaction; return them.

    A session advisory lock makes concurrent starters wait for each other instead of racing.
    Raises `SchemaFromBeforeRelease1`, applying nothing, on a database of the replaced chain.
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
            if replaced := sorted(done & BEFORE_RELEASE_1):
                raise SchemaFromBeforeRelease1(replaced)
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
