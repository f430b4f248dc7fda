"""The Parcours image under podman, for `make test-image` and `bench/image_start.py`.

Containers join the host's network, so they reach the Temporal dev server and the embedded
PostgreSQL that the tests start on 127.0.0.1, on ports of their own. Podman's settings for these
machines (runc, cgroupfs, ulimits) come from `deploy/containers.conf`, as for `make image`.
"""

import asyncio
import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from infra.codec import Keyring
from tests.outage import relay_to
from tests.temporal_fixtures import SERVER_STARTUP

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONTAINERS_CONF = os.environ.get("CONTAINERS_CONF", str(ROOT / "deploy" / "containers.conf"))
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = os.environ.get("PARCOURS_IMAGE", f"localhost/parcours:{VERSION}")
HARDENED = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")
"""What the Kubernetes manifests ask of every container: a read-only root filesystem (podman
mounts a fresh /tmp), no capabilities, no privilege escalation."""
START_TIMEOUT = 120.0


def podman_missing() -> str | None:
    """Why the image cannot be run here, or None when podman is installed."""
    if shutil.which("podman") is None:
        return "podman is missing (apt-get install podman runc; see make test-image)"
    return None


def podman(
    *args: str,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS` with this project's settings; a failure names the command and its
    standard error."""
    done = subprocess.run(
        ["podman", *args],
        env={**os.environ, "CONTAINERS_CONF": CONTAINERS_CONF, **(env or {})},
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed: {done.stderr[-3000:]}")
    return done


def ensure_image() -> str:
    """The image's name, built by deploy/image.sh unless it is there already."""
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        built = subprocess.run(
            [str(ROOT / "deploy" / "image.sh")],
            env={**os.environ, "PARCOURS_IMAGE": IMAGE, "CONTAINERS_CONF": CONTAINERS_CONF},
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert built.returncode == 0, f"deploy/image.sh failed: {built.stderr[-3000:]}"
    return IMAGE


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def key_spec(name: str) -> str:
    """A fresh `id:BASE64` key list of one key, as `PARCOURS_CODEC_KEYS` takes it."""
    keyring = Keyring.generate(name)
    return f"{keyring.current}:{base64.b64encode(keyring.key(keyring.current)).decode()}"


@dataclass(frozen=True)
class Container:
    """A detached container of the image, by name."""

    name: str

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.strip() == "true"

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, *command, check=False)

    def inspect(self, template: str) -> str:
        return podman("inspect", "--format", template, self.name).stdout.strip()

    def kill(self) -> None:
        """SIGKILL: the process dies mid-task, as in a node failure."""
        podman("kill", "--signal", "KILL", self.name)
        podman("wait", self.name, check=False)

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)

    async def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in (logs := await asyncio.to_thread(self.logs)):
            if time.monotonic() > deadline or not await asyncio.to_thread(self.running):
                raise AssertionError(f"{self.name} never logged {text!r}:\n{logs[-3000:]}")
            await asyncio.sleep(0.5)


def _env_args(env: Mapping[str, str]) -> list[str]:
    """`-e NAME` for each variable: podman takes the values from its own environment, so no
    key shows on a command line."""
    return [arg for name in env for arg in ("-e", name)]


def run_once(command: list[str], env: Mapping[str, str], image: str = IMAGE) -> tuple[int, str]:
    """`parcours COMMAND` in a hardened throwaway container; its exit code and output."""
    done = podman(
        "run", "--rm", "--network", "host", *HARDENED, *_env_args(env), image, *command,
        env=env, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def start(command: list[str], env: Mapping[str, str], image: str = IMAGE) -> Container:
    """`parcours COMMAND` in a hardened detached container, named for its command."""
    name = f"parcours-test-{command[0]}-{uuid.uuid4().hex[:8]}"
    podman(
        "run", "--detach", "--name", name, "--network", "host", *HARDENED, *_env_args(env),
        image, *command, env=env,
    )  # fmt: skip
    return Container(name)


@contextmanager
def containers() -> Iterator[list[Container]]:
    """A list to put started containers in; all of them are removed on the way out."""
    started: list[Container] = []
    try:
        yield started
    finally:
        for container in started:
            container.remove()


async def wait_until_ready(url: str, container: Container, timeout: float = START_TIMEOUT) -> None:
    """Until `url` answers 200 (the API's /readyz: Temporal and PostgreSQL answer it)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not await asyncio.to_thread(container.running):
                logs = await asyncio.to_thread(container.logs)
                raise AssertionError(f"{url} never answered 200:\n{logs[-3000:]}")
            await asyncio.sleep(0.2)


@asynccontextmanager
async def bare_dev_server(namespace: str = "default") -> AsyncIterator[WorkflowEnvironment]:
    """A dev server on a free port with `namespace` and no search attribute of ours: the
    image's `migrate` has to register them."""
    env = await WorkflowEnvironment.start_local(
        dev_server_startup_timeout=SERVER_STARTUP,
        namespace=namespace,
        dev_server_existing_path=str(BIN / "temporal"),
        ui=False,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """The TCP URL of a new, empty database on the server at `server_url` (the embedded one
    listens on a Unix socket, which a container does not share), dropped afterwards."""
    relay, url = await relay_to(server_url)
    name = f"image_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
        with suppress(Exception):
            await relay.cut()
