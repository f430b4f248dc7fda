"""Every command that README.md and docs/ show runs as written after `make dev` (issue 17 §5).

The commands are read from the documents' `sh` blocks at collection, so a new one is covered
without touching this file. They run one by one, each in its own `bash`, from a clean
environment (only PATH and HOME, as `env -i` leaves them) with the README's setup block
sourced first (`. .venv/bin/activate`, `export PARCOURS_ENV=development`), against one stack
that this module starts with `make dev` and shares. Each must exit 0; `curl` counts an HTTP
error as a failure (`--fail-with-body`). Each `python -m starter` command is also run without
`PARCOURS_ENV` and must then say so in one line, with no traceback.

Where this differs from a reader's terminal, on purpose:
- the stack listens on free ports (TEMPORAL_ADDRESS, PARCOURS_API_PORT, PARCOURS_UI_PORT,
  PARCOURS_CODEC_PORT in the environment; `127.0.0.1:8000` in a command is rewritten to the
  API's port), never on the defaults another stack on this machine may hold;
- the commands run in a directory of symlinks to the checkout's files, so that what they write
  (`.data/`, `report/`, `rejected.csv`) stays out of the checkout;
- what a document asks the reader to fill in comes from the stack (`PLACEHOLDERS`, `EXAMPLES`).

Inline mentions (`python -m starter revive PARTICIPANT_ID`) are synopses with
placeholders, not commands to copy, and are not run. Some commands in blocks cannot run in a
test; `NOT_RUN`, `DRY_RUN` and `PARSED_ONLY` say which and why.
"""

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.stack import free_port
from tests.api_fixtures import enrolment_body

ROOT = Path(__file__).parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_DOCUMENTS = {
    "docs/operations.md": "an operator's commands for a production cluster (docker, kubectl, "
    "compose): no container engine or cluster here; tests/test_deploy_files.py and "
    "tests/test_compose_stack.py check the files they use",
}
SETUP_MARK = ".venv/bin/activate"
"""The README block that prepares a terminal; it is sourced before every command."""

NOT_RUN = {
    "make dev": "the stack every other command runs against: the module's fixture starts it "
    "with these very words",
    "python -m tests.record_histories": "a release step that writes the checkout's "
    "tests/histories/, which tests/test_replay.py replays",
}
DRY_RUN = {
    "make": "every target but dev is the test suite itself (test, test-faults, test-fuzz), a "
    "bench of minutes to hours (bench, bench-quick: tests/test_bench_quick.py runs the latter), "
    "or rewrites the checkout (lock, clean); `make -n` checks that the target exists",
}
PARSED_ONLY = {
    "python -m bench": "a run takes minutes to hours on a stack of its own "
    "(tests/test_bench_quick.py runs one); `--help` after the options checks that they parse",
    "python bench/image_start.py": "starts the image's API several times with podman, a minute "
    "or more; tests/test_image.py (`make test-image`) runs the image itself",
    "schemathesis run": "three to four minutes per key against make dev; tests/test_api_fuzz.py "
    "runs the same checks in the suite; `--help` checks that the command is there",
}
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""A terminal's PATH before activation: `python` and `temporal` come from the setup block."""
STACK_TIMEOUT = 180.0
COMMAND_TIMEOUT = 120.0
WAIT_FOR_DATA = 120.0
"""Seconds the demo may take to produce what a placeholder needs (a closed trajectory, a task)."""


@dataclass(frozen=True)
class Command:
    """A command as a document shows it, and where."""

    text: str
    source: str

    @property
    def program(self) -> list[str]:
        """Its words after any leading `NAME=value`, the program by name (`.venv/bin/python`:
        `python`)."""
        words = shlex.split(self.text.replace("\\\n", " "), comments=True)
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words.pop(0)
        return [Path(words[0]).name, *words[1:]] if words else []

    def starts_with(self, prefix: str) -> bool:
        return " ".join(self.program).startswith(prefix)


def _complete(text: str) -> bool:
    """Whether `text` is a whole shell command: quotes closed, loops ended, no continuation."""
    if text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n", "-c", text], capture_output=True).returncode == 0


def _split(block: str, first_line: int, document: str) -> Iterator[Command]:
    lines: list[str] = []
    start = first_line
    heredoc: str | None = None
    for number, line in enumerate(block.splitlines(), first_line):
        if not lines:
            start = number
        lines.append(line)
        if heredoc is not None:
            if line.strip() != heredoc:
                continue
            heredoc = None
        elif found := re.search(r"<<-?\s*['\"]?(\w+)", line):
            heredoc = found.group(1)
            continue
        text = "\n".join(lines)
        if _complete(text):
            if shlex.split(text.replace("\\\n", " "), comments=True):
                yield Command(text.strip(), f"{document}:{start}")
            lines = []


def _blocks(path: Path) -> Iterator[tuple[str, int]]:
    """Each `sh` block of a Markdown file with the line its first command is on."""
    text = path.read_text(encoding="utf-8")
    for found in re.finditer(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.M | re.S):
        yield found.group(1), text.count("\n", 0, found.start(1)) + 1


def _documented() -> tuple[str, list[Command]]:
    setup = ""
    commands: list[Command] = []
    for path in DOCUMENTS:
        document = str(path.relative_to(ROOT))
        if document in NOT_DOCUMENTS:
            continue
        for block, line in _blocks(path):
            if SETUP_MARK in block:
                setup = block
                continue
            commands += _split(block, line, document)
    return setup, commands


SETUP, COMMANDS = _documented()


def _stop_group(process: "subprocess.Popen[str]") -> None:
    """Interrupt a command that ran too long and everything it started (a Ctrl-C lets a stack
    it started stop its servers), then kill what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def _reason_not_run(command: Command) -> str | None:
    return next((why for prefix, why in NOT_RUN.items() if command.starts_with(prefix)), None)


def _as_checked(command: Command) -> str:
    """The command as this test runs it: dry run, parse only, or as written."""
    if command.program[0] in DRY_RUN:
        return re.sub(
            rf"\b{command.program[0]}\b", f"{command.program[0]} -n", command.text, count=1
        )
    if any(command.starts_with(prefix) for prefix in PARSED_ONLY):
        return shlex.join(shlex.split(command.text.replace("\\\n", " "), comments=True)) + (
            " --help"
        )
    return command.text


@dataclass
class Stack:
    """A `make dev` of this module: where it listens, its keys, and a place to run commands."""

    workdir: Path
    home: Path
    environment: dict[str, str]
    api: str
    keys: dict[str, str]
    resolved: dict[str, str]

    def run(self, script: str, *, setup: str) -> subprocess.CompletedProcess[str]:
        port = self.api.rsplit(":", 1)[1]
        script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        wrapped = (
            f"set -eo pipefail\n{setup}\n"
            'curl() { command curl --fail-with-body "$@"; }\n'  # an HTTP error fails the command
            f"{script}\n"
        )
        with subprocess.Popen(
            ["bash", "-c", wrapped],
            cwd=self.workdir,
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                out, err = process.communicate(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                _stop_group(process)
                raise
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def first_task(self) -> str | None:
        """The id of an open task of JES's, once the ladder has opened one."""
        answer = httpx.get(
            f"{self.api}/v1/tasks?status=open",
            headers={"Authorization": f"Bearer {self.keys['partner jes']}"},
        )
        answer.raise_for_status()
        return next((item["task_id"] for item in answer.json()["items"]), None)

    def ended_participant(self) -> str | None:
        """A participant whose trajectory closed and whose workflow has ended (erase deletes the
        history only then; the read model says closed a moment before)."""
        listed = subprocess.run(
            [
                str(Path(sys.executable).parent / "temporal"),
                *("workflow", "list", "--limit", "1", "--output", "json", "--query"),
                'WorkflowType = "ParticipantTrajectory" AND ExecutionStatus = "Completed"',
            ],
            env=self.environment,
            capture_output=True,
            text=True,
            check=True,
        )
        runs = json.loads(listed.stdout or "[]")
        return runs[0]["execution"]["workflowId"].removeprefix("trajectory-") if runs else None


def _wait_for(find: Callable[[], str | None], what: str) -> str:
    """What `find` finds, once the demo has made it."""
    deadline = time.monotonic() + WAIT_FOR_DATA
    while (found := find()) is None:
        assert time.monotonic() < deadline, f"no {what} after {WAIT_FOR_DATA} s"
        time.sleep(1)
    return found


def _workdir(tmp: Path) -> Path:
    """A directory of symlinks to the checkout's tracked top-level entries and its .venv."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    workdir = tmp / "checkout"
    workdir.mkdir()
    for name in {path.split("/", 1)[0] for path in tracked} | {".venv"}:
        if (ROOT / name).exists():
            (workdir / name).symlink_to(ROOT / name)
    return workdir


def _keys(log: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    """The keys `make dev` prints once its stack is ready."""
    deadline = time.monotonic() + STACK_TIMEOUT
    pattern = re.compile(r"^  (backend|case manager|partner jes)\s+(prc_\S+)$", re.M)
    while len(keys := dict(pattern.findall(log.read_text(errors="replace")))) < 3:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    return keys


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("readme")
    home = tmp / "home"
    home.mkdir()
    api_port = free_port()
    environment = {
        "PATH": SYSTEM_PATH,
        "HOME": str(home),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "PARCOURS_API_PORT": str(api_port),
        "PARCOURS_UI_PORT": str(free_port()),
        "PARCOURS_CODEC_PORT": str(free_port()),
    }
    workdir = _workdir(tmp)
    log = tmp / "make-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "dev"],
            cwd=workdir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        keys = _keys(log, process)
        yield Stack(workdir, home, environment, f"http://127.0.0.1:{api_port}", keys, {})
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as the README says
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _new_jes_participant(stack: Stack) -> str:
    """A JES participant enrolled now by the backend, eligible, still in intake."""
    answer = httpx.post(
        f"{stack.api}/v1/participants",
        headers={"Authorization": f"Bearer {stack.keys['backend']}"},
        json=enrolment_body("jes"),
    )
    assert answer.status_code == 201, answer.text
    participant: str = answer.json()["participant_id"]
    return participant


def _key_id(stack: Stack) -> str:
    made = stack.run("python -m starter keys create --role backend --label readme", setup=SETUP)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()[: len("prc_") + 12]


PLACEHOLDERS: dict[str, Callable[[Stack], str]] = {
    "KEY": lambda stack: stack.keys["case manager"],
    "JES_KEY": lambda stack: stack.keys["partner jes"],
    "ID": _new_jes_participant,
    "TASK_ID": lambda stack: _wait_for(stack.first_task, "open task"),
}
"""Shell variables the documents ask the reader to set, and where the test takes them from."""
EXAMPLES: dict[str, Callable[[Stack], str]] = {
    "prc_3f2a9c0d1e4b": _key_id,
    "p-3b18d329dc7f44d0b888": lambda stack: _wait_for(stack.ended_participant, "ended run"),
}
"""Example values in commands (a key id, a participant id) and the real ones put in their place."""


def _filled(stack: Stack, command: Command) -> tuple[str, dict[str, str]]:
    """The command with examples replaced, and the variables it uses."""
    text = command.text
    for example, real in EXAMPLES.items():
        if example in text:
            value = stack.resolved.setdefault(example, real(stack))
            text = text.replace(example, value)
    variables = {}
    for name, real in PLACEHOLDERS.items():
        if re.search(rf"\${{?{name}\b", text):
            variables[name] = stack.resolved.setdefault(name, real(stack))
    return text, variables


def _ids(commands: list[Command]) -> list[str]:
    return [command.source for command in commands]


RUN = [command for command in COMMANDS if _reason_not_run(command) is None]
STARTER = [
    command
    for command in RUN
    if command.starts_with("python -m starter") and _as_checked(command) == command.text
]


def test_every_block_yields_its_commands_and_the_readme_shows_its_setup() -> None:
    assert SETUP_MARK in SETUP and "PARCOURS_ENV" in SETUP
    for path in DOCUMENTS:
        document = str(path.relative_to(ROOT))
        if document in NOT_DOCUMENTS:
            continue
        for block, line in _blocks(path):
            shown = [text for text in block.splitlines() if text.strip() and text[0] != "#"]
            parsed = [command for command in COMMANDS if command.source.startswith(document)]
            assert SETUP_MARK in block or not shown or parsed, f"{document}:{line}"
    for prefix in NOT_RUN:
        assert any(command.starts_with(prefix) for command in COMMANDS), f"{prefix}: not shown"


@pytest.mark.parametrize("command", RUN, ids=_ids(RUN))
def test_a_documented_command_runs_as_written_after_make_dev(
    stack: Stack, command: Command
) -> None:
    text, variables = _filled(stack, Command(_as_checked(command), command.source))
    exports = "".join(f"{name}={shlex.quote(value)}\n" for name, value in variables.items())
    done = stack.run(exports + text, setup=SETUP)
    assert done.returncode == 0, f"{command.text}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("command", STARTER, ids=_ids(STARTER))
def test_a_documented_command_without_parcours_env_says_so_in_one_line(
    stack: Stack, command: Command
) -> None:
    """Placeholders stay as written: the command stops before it would use them."""
    setup = "\n".join(line for line in SETUP.splitlines() if "PARCOURS_ENV" not in line)
    done = stack.run(command.text, setup=setup)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert "PARCOURS_ENV" in line and "development" in line, line
