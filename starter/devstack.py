"""`make dev`: the whole stack on one machine, its state kept under the data directory (DESIGN §7).

Starts the Temporal dev server unless one already answers or TEMPORAL_ADDRESS names another
machine, the embedded PostgreSQL unless DATABASE_URL is set, a local mail server and SMS gateway
that print every nudge unless PARCOURS_SMTP_URL and PARCOURS_SMS_URL are set, then the worker,
the codec server, the HTTP API and, once the API is ready, the demo cohort, which goes through
the API with keys issued at each start. Ctrl-C or SIGTERM stops every process it started, the
last started first; the next run resumes from the same Temporal database file and PostgreSQL
data directory.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote

import httpx
import structlog
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

from infra.contract import SEARCH_ATTRIBUTES
from infra.database import embedded_database_url, open_pool
from infra.logging import configure_logging
from infra.person_keys import SETTING as PERSON_KEYS
from infra.settings import Settings, get_settings
from infra.signing import new_secret
from infra.temporal import connect, register_search_attributes
from readmodel import migrate
from readmodel.schema import StaleSchema, start_afresh
from starter.demo.driver import api_url
from starter.demo.keys import DEMO_KEYS_ENV, DemoKeys, issue_demo_keys

log = structlog.stdlib.get_logger(__name__)

DEV_SECONDS_PER_DAY = "1"
"""One programme day per second, unless PARCOURS_SECONDS_PER_DAY says otherwise."""
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TEMPORAL_START_TIMEOUT = 60.0
READY_TIMEOUT = 60.0
"""Seconds a process with a readiness URL may take to answer 200 there."""
STOP_TIMEOUT = 15.0
"""Seconds a process may take to stop before it is killed; the worker drains for up to 10."""
EXAMPLE_QUERY = 'ParcoursPhase = "coaching" AND ParcoursStatus = "active"'
KEY_LABEL = "make dev"
"""The label of the keys issued at each start; the previous start's are revoked then."""
SHOWN_PARTNER = "jes"
"""The partner whose key is printed for trying the API."""

CLI_TYPES: dict[SearchAttributeIndexedValueType, str] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}
"""Search attribute types as the `temporal` CLI spells them."""


class StackFailed(RuntimeError):
    """A part of the stack did not start or stopped on its own; the message says where to look."""


@dataclass(frozen=True)
class Program:
    """A process of the stack: its command line and where its output goes (None: this terminal)."""

    name: str
    args: tuple[str, ...]
    log_file: Path | None = None
    ready_url: str | None = None
    """Answers 200 once the process serves; the programs after it start only then."""
    gets_demo_keys: bool = False
    """Receives the keys of this start in its environment."""
    withheld: frozenset[str] = frozenset()
    """Variables of the stack's environment this process must not receive."""

    def environment(self, stack: dict[str, str]) -> dict[str, str]:
        """The stack's environment as this process gets it."""
        return {name: value for name, value in stack.items() if name not in self.withheld}


@dataclass
class Child:
    """A running process of the stack, in its own session so that Ctrl-C reaches only us."""

    program: Program
    process: asyncio.subprocess.Process

    @classmethod
    async def start(cls, program: Program, env: dict[str, str]) -> "Child":
        output: IO[bytes] | None = None
        if program.log_file is not None:
            output = program.log_file.open("ab")
        try:
            process = await asyncio.create_subprocess_exec(
                *program.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT if output else None,
                env=env,
                start_new_session=True,
            )
        finally:
            if output is not None:
                output.close()
        log.info(
            "process_started",
            process=program.name,
            pid=process.pid,
            log_file=str(program.log_file) if program.log_file else None,
        )
        return cls(program, process)

    async def stop(self) -> None:
        """Terminate, wait, and kill if it does not stop in time."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("process_killed", process=self.program.name, pid=self.process.pid)
                self.process.kill()
                await self.process.wait()
        log.info("process_stopped", process=self.program.name, code=self.process.returncode)


def temporal_server(settings: Settings, host: str, port: int) -> Program:
    """The Temporal dev server of the pip-installed CLI, on a SQLite file in the data directory."""
    attributes = [f"{key.name}={CLI_TYPES[key.indexed_value_type]}" for key in SEARCH_ATTRIBUTES]
    args = [
        str(Path(sys.executable).parent / "temporal"),
        "server",
        "start-dev",
        "--ip", host,
        "--port", str(port),
        "--ui-port", str(settings.ui_port),
        "--db-filename", str(settings.data_dir / "temporal.db"),
        "--namespace", settings.temporal_namespace,
        "--sqlite-pragma", "journal_mode=wal",
        "--ui-codec-endpoint", f"http://{settings.codec_host}:{settings.codec_port}/codec",
        *(arg for attribute in attributes for arg in ("--search-attribute", attribute)),
    ]  # fmt: skip
    return Program("temporal", tuple(args), settings.data_dir / "temporal.log")


def stack_programs(settings: Settings) -> list[Program]:
    """The stack's own processes, started in this order once Temporal and PostgreSQL answer."""
    python = sys.executable
    return [
        Program("worker", (python, "-m", "worker"), settings.data_dir / "worker.log"),
        Program(
            "codec",
            (python, "-m", "starter", "codec"),
            settings.data_dir / "codec.log",
            withheld=frozenset({PERSON_KEYS}),
        ),
        Program(
            "api",
            (python, "-m", "starter", "api"),
            settings.data_dir / "api.log",
            ready_url=f"{api_url(settings)}/readyz",
        ),
        Program("demo", (python, "-m", "starter", "demo"), gets_demo_keys=True),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def message_sinks(env: dict[str, str]) -> Program | None:
    """The local mail server and SMS gateway (`python -m starter sinks`), printing each nudge in
    this terminal, for whichever of PARCOURS_SMTP_URL and PARCOURS_SMS_URL is unset; `env`
    then points the stack at them. None when both are set."""
    if env.get("PARCOURS_SMTP_URL") and env.get("PARCOURS_SMS_URL"):
        return None
    smtp_port, sms_port = _free_port(), _free_port()
    if not env.get("PARCOURS_SMTP_URL"):
        env["PARCOURS_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    if not env.get("PARCOURS_SMS_URL"):
        env["PARCOURS_SMS_URL"] = f"http://127.0.0.1:{sms_port}/sms"
        env["PARCOURS_SMS_SECRET"] = new_secret()
    args = ("--smtp-port", str(smtp_port), "--sms-port", str(sms_port))
    return Program(
        "sinks",
        (sys.executable, "-m", "starter", "sinks", *args),
        ready_url=f"http://127.0.0.1:{sms_port}/healthz",
    )


def _host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def _answering(settings: Settings) -> Client | None:
    try:
        return await connect(settings)
    except RuntimeError:
        return None


async def _start_temporal(settings: Settings, children: list[Child]) -> Client:
    """A client on a Temporal that answers: the configured one, or a dev server started here."""
    host, port = _host_and_port(settings.temporal_address)
    if (client := await _answering(settings)) is not None:
        log.info("temporal_already_running", address=settings.temporal_address)
        return client
    server: Child | None = None
    if host in LOCAL_HOSTS and not settings.temporal_tls:
        server = await Child.start(temporal_server(settings, host, port), dict(os.environ))
        children.append(server)
    log.info("waiting_for_temporal", address=settings.temporal_address)
    deadline = asyncio.get_running_loop().time() + TEMPORAL_START_TIMEOUT
    while (client := await _answering(settings)) is None:
        if server is not None and server.process.returncode is not None:
            raise StackFailed(f"the Temporal dev server exited; see {server.program.log_file}")
        if asyncio.get_running_loop().time() > deadline:
            raise StackFailed(f"Temporal does not answer at {settings.temporal_address}")
        await asyncio.sleep(0.5)
    return client


async def _prepare_database(settings: Settings) -> str:
    """The database URL, starting the embedded server when none is configured; migrated."""
    url = settings.database_url
    if url is None:
        log.info("starting_embedded_postgres", data_dir=str(settings.data_dir / "postgres"))
        url = await asyncio.to_thread(embedded_database_url, settings.data_dir)
    pool = await open_pool(settings.model_copy(update={"database_url": url}))
    try:
        await migrate(pool)
    except StaleSchema as error:
        raise StackFailed(f"{error}; {start_afresh(settings)}") from None
    finally:
        await pool.close()
    return url


async def _issue_keys(settings: Settings, database_url: str) -> DemoKeys:
    """New keys for this start, for the demo and for trying the API; the last start's revoked."""
    pool = await open_pool(settings.model_copy(update={"database_url": database_url}))
    try:
        return await issue_demo_keys(pool, KEY_LABEL)
    finally:
        await pool.close()


async def _wait_until_ready(child: Child, url: str) -> None:
    """Poll `url` until it answers 200; fail when the process exits or does not get there."""
    log.info("waiting_until_ready", process=child.program.name, url=url)
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    where = f"; see {child.program.log_file}" if child.program.log_file else ""
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            if child.process.returncode is not None:
                raise StackFailed(f"{child.program.name} exited while starting{where}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise StackFailed(f"{child.program.name} is not ready at {url}{where}")
            await asyncio.sleep(0.5)


async def _start(settings: Settings, children: list[Child]) -> None:
    client = await _start_temporal(settings, children)
    await register_search_attributes(client, settings.temporal_namespace)
    database_url = await _prepare_database(settings)
    keys = await _issue_keys(settings, database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PARCOURS_SECONDS_PER_DAY": os.environ.get("PARCOURS_SECONDS_PER_DAY", DEV_SECONDS_PER_DAY),
        # While developing, the sandbox catches non-deterministic calls in workflow code.
        "PARCOURS_WORKFLOW_SANDBOX": os.environ.get("PARCOURS_WORKFLOW_SANDBOX", "true"),
        "PARCOURS_UI_ORIGIN": os.environ.get(
            "PARCOURS_UI_ORIGIN", f"http://{settings.api_host}:{settings.ui_port}"
        ),
    }
    programs = stack_programs(settings)
    if (sinks := message_sinks(env)) is not None:
        programs.insert(0, sinks)
    for program in programs:
        keys_env = {DEMO_KEYS_ENV: keys.model_dump_json()} if program.gets_demo_keys else {}
        child = await Child.start(program, program.environment({**env, **keys_env}))
        children.append(child)
        if program.ready_url is not None:
            await _wait_until_ready(child, program.ready_url)
    _announce(settings, float(env["PARCOURS_SECONDS_PER_DAY"]), keys)


def _announce(settings: Settings, seconds_per_day: float, keys: DemoKeys) -> None:
    """Tell the developer where to look, and print the keys for trying the API."""
    host, _ = _host_and_port(settings.temporal_address)
    if host in LOCAL_HOSTS:
        ui = f"http://{host}:{settings.ui_port}"
        workflows = f"{ui}/namespaces/{settings.temporal_namespace}/workflows"
        example = f"{workflows}?query={quote(EXAMPLE_QUERY)}"
        log.info("web_ui", url=workflows)
        log.info("codec_server", url=f"http://{settings.codec_host}:{settings.codec_port}/codec")
        log.info("example_query", query=EXAMPLE_QUERY, url=example)
    log.info(
        "stack_ready",
        temporal=settings.temporal_address,
        namespace=settings.temporal_namespace,
        api=api_url(settings),
        seconds_per_day=seconds_per_day,
        logs=str(settings.data_dir),
        stop="Ctrl-C",
    )
    _show_keys(settings, keys)


def _show_keys(settings: Settings, keys: DemoKeys) -> None:
    """Print keys for trying the API and the web app as plain lines: they are new at each
    start, shown only here."""
    api = api_url(settings)
    partner_key = keys.partners[SHOWN_PARTNER]
    lines = (
        "",
        f"HTTP API at {api}  (OpenAPI and a console to try it: {api}/docs)",
        f'Keys of this start, labelled "{KEY_LABEL}" (revoked at the next start):',
        f"  backend           {keys.backend}",
        f"  case manager      {keys.case_manager}",
        f"  partner {SHOWN_PARTNER:<9} {partner_key}",
        f"Try it ({SHOWN_PARTNER}'s key lists only {SHOWN_PARTNER}'s participants):",
        f"  curl -H 'Authorization: Bearer {partner_key}' '{api}/v1/participants?phase=coaching'",
        "",
        f"Web app for coaches and case managers at {api}/app/ (log in with a key):",
        f"  a {SHOWN_PARTNER} coach       {partner_key}",
        f"  a case manager    {keys.case_manager}",
        "",
    )
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


async def _supervise(children: list[Child], stop: asyncio.Event) -> None:
    """Wait for a stop signal; a process that fails stops the stack, one that is done may go."""
    waiting = {asyncio.create_task(child.process.wait()): child for child in children}
    stopping = asyncio.create_task(stop.wait())
    try:
        while waiting:
            done, _ = await asyncio.wait({stopping, *waiting}, return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                return
            for task in done:
                child = waiting.pop(task)
                code = child.process.returncode
                if code != 0:
                    where = f"; see {child.program.log_file}" if child.program.log_file else ""
                    raise StackFailed(f"{child.program.name} exited with code {code}{where}")
                log.info("process_finished", process=child.program.name)
        await stopping
    finally:
        stopping.cancel()
        for task in waiting:
            task.cancel()


async def _run(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    try:
        starting = asyncio.create_task(_start(settings, children))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            log.info("stopping_before_ready")
            return 0
        starting.result()
        await _supervise(children, stop)
        log.info("stopping")
        return 0
    except StackFailed as failure:
        log.error("stack_failed", reason=str(failure))
        return 1
    finally:
        for child in reversed(children):
            await child.stop()


def main(_: argparse.Namespace) -> int:
    """`python -m starter dev`: run the local stack until Ctrl-C; PostgreSQL stops on exit."""
    # The one place where development is implied; every process of the stack inherits it.
    os.environ.setdefault("PARCOURS_ENV", "development")
    configure_logging()
    # Its INFO lines narrate every pg_ctl call; warnings and errors still show.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(_run(get_settings()))
