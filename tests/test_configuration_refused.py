"""A missing or wrong setting stops a process with one line that names the environment variable
and what to set it to: never a traceback, whether the process is a command of the command line,
the worker or the API.

Each process runs from a clean environment (only PATH and HOME, as `env -i` leaves) in an empty
directory, and fails before it reaches Temporal or PostgreSQL, so no stack is needed.
"""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.codec import Keyring

KEYRING = Keyring.generate("prod-2026-12")
PAYLOAD_KEYS = f"{KEYRING.current}:{base64.b64encode(KEYRING.key(KEYRING.current)).decode()}"
PRODUCTION = {
    "PARCOURS_ENV": "production",
    "DATABASE_URL": "postgresql://parcours@127.0.0.1:1/parcours",
    "PARCOURS_CODEC_KEYS": PAYLOAD_KEYS,
}
"""Production with a database and payload keys, but no person keys."""

KEYS_CREATE = ("-m", "starter", "keys", "create", "--role", "backend")
WORKER = ("-m", "worker")
API = ("-m", "starter", "api")
CODEC = ("-m", "starter", "codec")
REPORT = ("-m", "starter", "report", "--out", "report")


def refusal(tmp_path: Path, args: tuple[str, ...], **settings: str) -> list[str]:
    """The lines `python ARGS` writes to stderr; it must exit 2 and write nothing else."""
    done = subprocess.run(
        [sys.executable, *args],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **settings},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr.splitlines()


@pytest.mark.parametrize("args", [KEYS_CREATE, WORKER, API, CODEC, REPORT])
def test_a_process_started_without_parcours_env_says_what_to_set_it_to(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    (line,) = refusal(tmp_path, args)
    assert "PARCOURS_ENV" in line
    assert "development" in line and "production" in line


def test_a_parcours_env_that_is_neither_development_nor_production_is_refused(
    tmp_path: Path,
) -> None:
    (line,) = refusal(tmp_path, KEYS_CREATE, PARCOURS_ENV="staging")
    assert "PARCOURS_ENV" in line and "'staging'" in line
    assert "development" in line and "production" in line


def test_a_port_that_is_not_a_number_names_the_variable(tmp_path: Path) -> None:
    (line,) = refusal(tmp_path, API, PARCOURS_ENV="development", PARCOURS_API_PORT="eighty")
    assert "PARCOURS_API_PORT" in line and "'eighty'" in line
    assert "integer" in line


def test_a_flag_that_is_not_a_boolean_names_the_variable(tmp_path: Path) -> None:
    (line,) = refusal(tmp_path, WORKER, PARCOURS_ENV="development", TEMPORAL_TLS="maybe")
    assert "TEMPORAL_TLS" in line and "'maybe'" in line


def test_a_client_certificate_without_its_key_is_one_line(tmp_path: Path) -> None:
    (line,) = refusal(
        tmp_path, WORKER, PARCOURS_ENV="development", TEMPORAL_TLS="true", TEMPORAL_TLS_CERT="c.pem"
    )
    assert "TEMPORAL_TLS_KEY" in line


@pytest.mark.parametrize("args", [WORKER, API])
def test_the_worker_and_the_api_in_production_without_person_keys_say_so_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    (line,) = refusal(tmp_path, args, **PRODUCTION)
    assert "PARCOURS_PERSON_KEYS" in line
