"""The image's entry commands, run directly (no container engine on this machine).

With production's environment a service refuses to start, saying why, until it has a database
and payload keys; `migrate` prepares a fresh database and the namespace, as the deploy's
one-shot step does; `cli config` shows the configuration without its secrets.
"""

import asyncio
import base64
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from infra.codec import Keyring
from infra.database import Pool
from tests.test_migrations import VERSIONS

ENTRYPOINT = Path(__file__).parents[1] / "deploy" / "entrypoint.sh"
BIN = Path(sys.executable).parent
KEYRING = Keyring.generate("prod-2026-11")
KEYS = f"{KEYRING.current}:{base64.b64encode(KEYRING.key(KEYRING.current)).decode()}"
PERSON_KEYRING = Keyring.generate("persons-2026-11")
PERSON_KEYS = (
    f"{PERSON_KEYRING.current}:"
    f"{base64.b64encode(PERSON_KEYRING.key(PERSON_KEYRING.current)).decode()}"
)


async def entry(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run `parcours ARGS` as the image would: only the given environment, the venv on PATH."""
    environment = {"PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(cwd / "home"), **env}
    process = await asyncio.create_subprocess_exec(
        "sh",
        str(ENTRYPOINT),
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def fresh_database(pool: Pool, database_url: str) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's server."""
    name = f"entry_{uuid.uuid4().hex[:12]}"
    await pool.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    finally:
        await pool.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.parametrize("command", ["worker", "api", "codec", "migrate"])
async def test_a_production_service_without_a_database_refuses_to_start(
    command: str, tmp_path: Path
) -> None:
    code, _, err = await entry(tmp_path, command, PARCOURS_ENV="production")

    assert code == 2
    assert "configuration refused: DATABASE_URL is required in production" in err


async def test_a_production_service_without_payload_keys_refuses_to_start(tmp_path: Path) -> None:
    code, _, err = await entry(
        tmp_path, "worker", PARCOURS_ENV="production", DATABASE_URL="postgresql://db.invalid/p"
    )

    assert code == 2
    assert "configuration refused: PARCOURS_CODEC_KEYS is required in production" in err
    assert not list(tmp_path.rglob("codec-keys.json")), "no development key may appear"


@pytest.mark.parametrize("command", ["worker", "api"])
async def test_a_production_worker_or_api_without_person_keys_refuses_to_start(
    command: str, tmp_path: Path
) -> None:
    code, _, err = await entry(
        tmp_path,
        command,
        PARCOURS_ENV="production",
        DATABASE_URL="postgresql://db.invalid/p",
        PARCOURS_CODEC_KEYS=KEYS,
    )

    assert code == 2
    assert "configuration refused: PARCOURS_PERSON_KEYS is required in production" in err
    assert not list(tmp_path.rglob("person-keys.json")), "no development key may appear"


async def test_a_codec_server_given_the_person_keys_refuses_to_start(tmp_path: Path) -> None:
    code, _, err = await entry(
        tmp_path,
        "codec",
        PARCOURS_ENV="production",
        DATABASE_URL="postgresql://db.invalid/p",
        PARCOURS_CODEC_KEYS=KEYS,
        PARCOURS_PERSON_KEYS=PERSON_KEYS,
    )

    assert code == 2
    assert "PARCOURS_PERSON_KEYS must not reach the codec server" in err


async def test_without_parcours_env_nothing_starts(tmp_path: Path) -> None:
    code, _, err = await entry(tmp_path, "api", DATABASE_URL="postgresql://db.invalid/p")

    assert code == 2
    assert "configuration refused: PARCOURS_ENV is not set: set it to development" in err


async def test_malformed_keys_are_refused_with_the_expected_form(tmp_path: Path) -> None:
    code, _, err = await entry(
        tmp_path,
        "codec",
        PARCOURS_ENV="production",
        DATABASE_URL="postgresql://db.invalid/p",
        PARCOURS_CODEC_KEYS="not-a-key",
    )

    assert code == 2
    assert "PARCOURS_CODEC_KEYS reads id:BASE64" in err


async def test_an_unknown_command_is_refused_with_the_usage(tmp_path: Path) -> None:
    code, _, err = await entry(tmp_path, "serve")

    assert code == 64
    assert "usage: parcours worker|api|codec|migrate" in err


async def test_cli_config_shows_the_configuration_without_its_secrets(tmp_path: Path) -> None:
    url = "postgresql://parcours:s3cret-pw@db.internal:5432/parcours"
    code, out, _ = await entry(
        tmp_path,
        "cli",
        "config",
        PARCOURS_ENV="production",
        DATABASE_URL=url,
        PARCOURS_CODEC_KEYS=KEYS,
        PARCOURS_WORKER_ACTIVITIES="40",
    )

    assert code == 0
    shown = json.loads(out)
    assert shown["PARCOURS_ENV"] == "production"
    assert shown["DATABASE_URL"] == shown["PARCOURS_CODEC_KEYS"] == "(set)"
    assert shown["TEMPORAL_API_KEY"] is None
    assert shown["PARCOURS_WORKER_ACTIVITIES"] == 40
    assert "s3cret-pw" not in out and KEYS.split(":")[1] not in out


async def test_migrate_prepares_a_fresh_database_and_the_namespace(
    dev_env: WorkflowEnvironment, fresh_database: str, tmp_path: Path
) -> None:
    code, out, err = await entry(
        tmp_path,
        "migrate",
        PARCOURS_ENV="production",
        DATABASE_URL=fresh_database,
        PARCOURS_CODEC_KEYS=KEYS,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=dev_env.client.namespace,
    )

    assert code == 0, err + out
    assert "database_migrated" in out
    con = await asyncpg.connect(fresh_database)
    try:
        applied = await con.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await con.close()
    assert [row["version"] for row in applied] == VERSIONS
    # Run again at the next deploy: nothing more to do, and it says so.
    again, out, _ = await entry(
        tmp_path,
        "migrate",
        PARCOURS_ENV="production",
        DATABASE_URL=fresh_database,
        PARCOURS_CODEC_KEYS=KEYS,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=dev_env.client.namespace,
    )
    assert again == 0
    assert '"applied": []' in out
