"""`python -m starter enrol --file cohort.csv`: enrol a whole cohort from a CSV file (DESIGN §5).

Rows are checked like `POST /v1/participants` bodies and enrolled with bounded concurrency.
A bad row is reported and skipped, never fatal. Enrolment is idempotent on `external_ref`, so
re-running the same file after an interruption enrols only what is missing. A person with an open
trajectory under another reference is skipped and listed, by row and reference only.
The ESF+ entry-profile columns are optional: a row leaves them all empty or fills them all.
"""

import argparse
import asyncio
import codecs
import csv
import io
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from temporalio.client import Client
from tqdm import tqdm

from api.enrolment import AlreadyEnrolled, enrol
from api.errors import describe_errors
from api.models import ParticipantCreate
from infra.database import Pool, open_pool
from infra.settings import get_settings
from infra.temporal import connect
from readmodel import migrate
from readmodel.key_uses import add_key_uses
from trajectory.text import BIDI_CONTROLS

PERSON = (
    "given_name",
    "family_name",
    "birth_date",
    "national_number",
    "postcode",
    "phone",
    "email",
    "language",
)
STATUS = ("employed", "in_education", "in_training", "other_measure")
COLUMNS = ("external_ref", "partner_id", *PERSON, *STATUS)
"""The required header: the same fields as a `POST /v1/participants` body."""
PERSON_OPTIONAL = ("phone", "email")
ENTRY_PROFILE = (
    "labour_status",
    "education_level",
    "gender",
    "disability",
    "third_country_national",
    "foreign_background",
    "minority",
    "homeless",
)
"""Optional columns: the ESF+ situation at entry (`declined` is an answer, an empty cell is not)."""
REGISTERED = "pes_registered_on"
"""Optional column: the day of registration with the PES (YYYY-MM-DD), when known."""
REPORT_COLUMNS = ("row", "external_ref", "reason")
SHOWN_REF_LENGTH = 80
"""A reference longer than this is cut when shown (a valid one has at most 64 characters)."""
FORMULA_PREFIXES = ("=", "+", "-", "@")
"""What makes a spreadsheet read a cell as a formula."""
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)'"

Row = Mapping[str | None, Any]
"""A row as `csv.DictReader` gives it: surplus fields land under the key None."""


class CohortFileError(ValueError):
    """The file as a whole cannot be read as a cohort (no header, missing columns)."""


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row; `row` counts lines as a spreadsheet does (the header is row 1)."""

    row: int
    external_ref: str
    result: Literal["enrolled", "already_enrolled", "enrolled_elsewhere", "rejected"]
    reason: str | None = None


@dataclass
class CohortSummary:
    """`enrolled_elsewhere`: people with an open trajectory under another reference."""

    enrolled: int = 0
    already_enrolled: int = 0
    enrolled_elsewhere: list[RowOutcome] = field(default_factory=list)
    rejected: list[RowOutcome] = field(default_factory=list)

    def add(self, outcome: RowOutcome) -> None:
        if outcome.result == "enrolled":
            self.enrolled += 1
        elif outcome.result == "already_enrolled":
            self.already_enrolled += 1
        elif outcome.result == "enrolled_elsewhere":
            self.enrolled_elsewhere.append(outcome)
        else:
            self.rejected.append(outcome)

    @property
    def not_enrolled(self) -> list[RowOutcome]:
        """Every row left out, skipped or rejected, in file order."""
        return sorted([*self.enrolled_elsewhere, *self.rejected], key=lambda r: r.row)


def read_cohort(path: Path) -> list[tuple[int, Row]]:
    """The numbered rows of a cohort file, all read before anyone is enrolled.

    Raises `CohortFileError` naming what keeps the file from being read (its encoding, its
    delimiter, a missing column, a malformed line), so a file that cannot be read enrols no one.
    """
    reader = csv.DictReader(io.StringIO(_text_of(path), newline=""))
    try:
        header = reader.fieldnames or []
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            raise CohortFileError(
                _other_delimiter(path, header) or f"{path}: missing columns: {', '.join(missing)}"
            )
        return [(number, row) for number, row in enumerate(reader, start=2)]
    except csv.Error as error:
        raise CohortFileError(f"{path}: line {reader.reader.line_num}: {error}") from None


def _text_of(path: Path) -> str:
    """The file as UTF-8 text (a UTF-8 byte order mark is fine); anything else is refused."""
    data = path.read_bytes()
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            raise CohortFileError(f"{path}: the file is {encoding}, not UTF-8; {_SAVE_AS}")
    data = data.removeprefix(codecs.BOM_UTF8)
    if (nul := data.find(b"\0")) >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise CohortFileError(
            f"{path}: line {line} holds a NUL byte, so this is not a CSV text file "
            f"(binary, or UTF-16); {_SAVE_AS}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CohortFileError(
            f"{path}: line {line} is not UTF-8 (byte 0x{data[error.start]:02X}; Latin-1 and "
            f"Windows-1252 are not guessed); {_SAVE_AS}"
        ) from None


def _other_delimiter(path: Path, header: Sequence[str]) -> str | None:
    """Why the columns are missing when the header is separated by something else than commas."""
    line = ",".join(header)
    for delimiter, name in _OTHER_DELIMITERS.items():
        if set(COLUMNS) <= {column.strip() for column in line.split(delimiter)}:
            return f"{path}: the columns are separated by {name}, not commas; {_SAVE_AS}"
    return None


_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
"""How a cohort file writes a boolean (the API's JSON takes only true and false)."""


def _flag(text: str) -> bool | str:
    """A cell as a boolean; any other word is left for the model to refuse, naming the column."""
    return _FLAGS.get(text.lower(), text)


def enrolment_of(row: Row) -> ParticipantCreate:
    """The enrolment a row describes, checked like an API request; raises `ValidationError`."""
    if row.get(None):
        raise ValueError(f"{len(row[None])} more fields than the header has")
    if short := sum(1 for column, raw in row.items() if column is not None and raw is None):
        raise ValueError(f"{short} fewer fields than the header has")

    def value(column: str) -> str | None:
        raw = row.get(column)
        text = raw.strip() if isinstance(raw, str) else None
        optional = column in PERSON_OPTIONAL or column in ENTRY_PROFILE or column == REGISTERED
        return None if not text and optional else text

    def present(columns: Iterable[str]) -> dict[str, str]:
        return {c: v for c in columns if (v := value(c)) is not None}

    profile = present(ENTRY_PROFILE)
    return ParticipantCreate.model_validate(
        {
            **present(("external_ref", "partner_id", REGISTERED)),
            "person": present(PERSON),
            "status": {column: _flag(text) for column, text in present(STATUS).items()},
            **({"entry_profile": profile} if profile else {}),
        }
    )


async def enrol_row(
    client: Client, pool: Pool, number: int, row: Row, day_seconds: float
) -> RowOutcome:
    """Enrol one row; any failure becomes a rejection with its reason, never an exception."""
    ref = str(row.get("external_ref") or "").strip()
    try:
        enrolment = enrolment_of(row)
    except ValidationError as error:
        return RowOutcome(number, ref, "rejected", describe_errors(error.errors()))
    except ValueError as error:
        return RowOutcome(number, ref, "rejected", str(error))
    try:
        enrolled = await enrol(client, pool, enrolment, day_seconds=day_seconds)
    except AlreadyEnrolled as skipped:
        reason = f"already enrolled under another reference (participant {skipped.participant_id})"
        return RowOutcome(number, ref, "enrolled_elsewhere", reason)
    except Exception as error:  # one row's trouble must not stop the others; a re-run retries it
        reason = f"not enrolled now ({type(error).__name__}: {error}); re-run the file to retry"
        return RowOutcome(number, ref, "rejected", reason)
    return RowOutcome(number, ref, "enrolled" if enrolled.created else "already_enrolled")


async def enrol_cohort(
    client: Client,
    pool: Pool,
    rows: Iterable[tuple[int, Row]],
    *,
    concurrency: int = 32,
    day_seconds: float = 86400.0,
    on_row: Callable[[RowOutcome], None] | None = None,
) -> CohortSummary:
    """Enrol every row, at most `concurrency` at a time."""
    summary = CohortSummary()
    slots = asyncio.Semaphore(concurrency)

    async def one(number: int, row: Row) -> None:
        try:
            outcome = await enrol_row(client, pool, number, row, day_seconds)
        finally:
            slots.release()
        summary.add(outcome)
        if on_row is not None:
            on_row(outcome)

    async with asyncio.TaskGroup() as group:
        for number, row in rows:
            await slots.acquire()
            group.create_task(one(number, row))
    summary.rejected.sort(key=lambda rejected: rejected.row)
    summary.enrolled_elsewhere.sort(key=lambda skipped: skipped.row)
    return summary


def inert(text: str, limit: int | None = None) -> str:
    """`text` safe to show in a terminal or a spreadsheet: without control characters (ANSI
    escapes, tab, CR) or bidirectional controls, never read as a formula, cut at `limit`."""
    shown = "".join(c for c in text if unicodedata.category(c) != "Cc" and c not in BIDI_CONTROLS)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return f"'{shown}" if shown.startswith(FORMULA_PREFIXES) else shown


def shown_ref(ref: str) -> str:
    """A row's `external_ref` as the terminal and the report show it."""
    return inert(ref, SHOWN_REF_LENGTH)


def write_report(path: Path, left_out: Iterable[RowOutcome]) -> None:
    """The rows not enrolled, with the reason: to fix and enrol again, or to look into."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(
            (r.row, shown_ref(r.external_ref), inert(r.reason or "")) for r in left_out
        )


# -- CLI ----------------------------------------------------------------------------------------


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`enrol --file cohort.csv`; run by `args.run(args) -> exit code`."""
    command = subparsers.add_parser(
        "enrol",
        help="enrol a cohort from a CSV file (safe to re-run)",
        description=(
            f"CSV columns: {','.join(COLUMNS)}; "
            f"optional ESF+ entry-profile columns: {','.join(ENTRY_PROFILE)}; "
            f"optional {REGISTERED} (YYYY-MM-DD)"
        ),
    )
    command.add_argument("--file", required=True, type=Path, help="the cohort CSV file")
    command.add_argument(
        "--concurrency", type=_concurrency, default=32, help="enrolments at once (default 32)"
    )
    command.add_argument(
        "--report", type=Path, help="write the rows not enrolled, with why, to this CSV file"
    )
    command.set_defaults(run=run)


def _concurrency(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError("between 1 and 256")
    return value


def run(args: argparse.Namespace) -> int:
    """0 when every row is enrolled (now or before), 1 when some were not, 2 on a bad file."""
    try:
        rows = read_cohort(args.file)
    except (OSError, CohortFileError) as error:
        sys.stderr.write(f"starter enrol: error: {error}\n")
        return 2
    try:
        summary = asyncio.run(_enrol(rows, args.concurrency))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: run the same command again to enrol the rest\n")
        return 130
    out = sys.stdout
    out.write(
        f"enrolled: {summary.enrolled}, already enrolled: {summary.already_enrolled}, "
        f"enrolled under another reference: {len(summary.enrolled_elsewhere)}, "
        f"rejected: {len(summary.rejected)}\n"
    )
    left_out = summary.not_enrolled
    for row in left_out:
        ref = shown_ref(row.external_ref) or "no ref"
        out.write(f"row {row.row} ({ref}): {inert(row.reason or '')}\n")
    if args.report is not None:
        write_report(args.report, left_out)
        out.write(f"rows not enrolled written to {args.report}\n")
    return 1 if left_out else 0


async def _enrol(rows: list[tuple[int, Row]], concurrency: int) -> CohortSummary:
    settings = get_settings()
    client = await connect(settings)
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        with tqdm(total=len(rows), unit="row", file=sys.stderr, disable=None) as progress:

            def advance(outcome: RowOutcome) -> None:
                progress.update()
                if outcome.result == "rejected":
                    progress.set_postfix_str(f"last rejected: row {outcome.row}", refresh=False)

            return await enrol_cohort(
                client,
                pool,
                rows,
                concurrency=concurrency,
                day_seconds=settings.seconds_per_day,
                on_row=advance,
            )
    finally:
        await add_key_uses(pool)  # the starts it sealed count against the payload key
        await pool.close()
