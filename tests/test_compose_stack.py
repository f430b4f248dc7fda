"""The compose stack where a container engine runs: a milestone from the API to the read model.

Skipped where `docker compose` reaches no engine (this project's machines have none); there the
image's entry commands run directly instead (`tests/test_entrypoint.py`).
"""

import base64
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.api_fixtures import bearer, enrolment_body

ROOT = Path(__file__).parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
PROJECT = "parcours-ci"
API = "http://127.0.0.1:8000"


def _engine() -> bool:
    if shutil.which("docker") is None:
        return False
    checks = (["docker", "compose", "version"], ["docker", "info"])
    return all(subprocess.run(check, capture_output=True).returncode == 0 for check in checks)


pytestmark = pytest.mark.skipif(not _engine(), reason="no container engine here")


def compose(env_file: Path, *args: str) -> str:
    command = ["docker", "compose", "-p", PROJECT, "-f", str(COMPOSE), "--env-file", str(env_file)]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The stack up to the API and the workers, healthy, with throwaway secrets."""
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    key = base64.b64encode(os.urandom(32)).decode()
    person_key = base64.b64encode(os.urandom(32)).decode()
    env_file.write_text(
        f"PARCOURS_CODEC_KEYS=ci:{key}\n"
        f"PARCOURS_PERSON_KEYS=ci-persons:{person_key}\n"
        f"PARCOURS_DB_PASSWORD={os.urandom(12).hex()}\n"
        f"TEMPORAL_DB_PASSWORD={os.urandom(12).hex()}\n"
        "OIDC_ISSUER=https://login.invalid/realms/ci\n"
        "OIDC_CLIENT_ID=temporal-ui\n"
        f"OIDC_CLIENT_SECRET={os.urandom(12).hex()}\n"
        "OIDC_JWKS_URL=https://login.invalid/realms/ci/certs\n"
    )
    # The image installs offline from the wheelhouse (deploy/Dockerfile).
    wheels = [sys.executable, "-m", "pip", "wheel", "--quiet", "-c", str(ROOT / "constraints.txt")]
    subprocess.run(
        [*wheels, "--wheel-dir", str(ROOT / "build" / "wheelhouse"), str(ROOT)], check=True
    )
    try:
        compose(env_file, "up", "--detach", "--build", "--wait", "api", "worker")
        yield env_file
    finally:
        compose(env_file, "down", "--volumes")


def test_a_milestone_goes_from_the_api_to_the_read_model(stack: Path) -> None:
    def key(*role: str) -> str:
        out = compose(stack, "run", "--rm", "--no-deps", "api", "cli", "keys", "create", *role)
        return out.strip().splitlines()[-1]

    backend = key("--role", "backend")
    jes = key("--role", "partner", "--partner", "jes")
    with httpx.Client(base_url=API, timeout=30) as api:
        enrolled = api.post("/v1/participants", json=enrolment_body("jes"), headers=bearer(backend))
        assert enrolled.status_code == 201, enrolled.text
        participant_id = enrolled.json()["participant_id"]
        body = {
            "milestone_id": "ci-intake",
            "type": "intake_interview_held",
            "occurred_at": datetime.now(UTC).isoformat(),
            "payload": {},
        }
        url = f"/v1/participants/{participant_id}/milestones"
        answer = api.post(url, json=body, headers=bearer(jes))
        assert answer.status_code == 200, answer.text
        assert answer.json()["phase"] == "assessment"
    query = f"SELECT count(*) FROM milestones WHERE participant_id = '{participant_id}'"
    for _ in range(60):
        counted = compose(
            stack, "exec", "-T", "parcours-db", "psql", "-U", "parcours", "-tAc", query
        )
        if counted.strip() == "1":
            return
        time.sleep(1)
    raise AssertionError("the milestone never reached the read model")
