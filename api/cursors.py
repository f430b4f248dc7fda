"""Ids and page cursors as the API takes them.

A cursor is the sort key of the last item a page gave, written so that one pattern says exactly
which strings are cursors: the OpenAPI description gives it, and any string that matches is a
place to start after, so a client never gets 422 for a cursor its schema allows. Times are
microseconds since 1970 (a pattern cannot tell 2026-02-30 from a day); parts are joined by dots.
"""

from datetime import UTC, datetime, timedelta

PARTICIPANT_ID = r"[A-Za-z0-9_\-]{1,64}"
"""An opaque participant id (`p-...`); the participants list's cursor is the last one given."""
TASK_ID = rf"{PARTICIPANT_ID}\.[0-9]{{1,9}}"
"""A task id: its participant's id and its number."""
_MICROS = r"[0-9]{1,16}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PARTICIPANT_CURSOR = rf"^{PARTICIPANT_ID}$"
TASK_CURSOR = rf"^{_MICROS}\.{TASK_ID}$"
"""When the last task was opened, and its id."""
TIMELINE_CURSOR = r"^[0-9]{1,18}$"
"""Where the last entry given stands in the order entries were recorded."""


def _micros(at: datetime) -> str:
    return str((at - _EPOCH) // timedelta(microseconds=1))


def _moment(micros: str) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))


def task_cursor(opened_at: datetime, task_id: str) -> str:
    return f"{_micros(opened_at)}.{task_id}"


def after_task(cursor: str) -> tuple[datetime, str]:
    """The (opened_at, task_id) a `TASK_CURSOR` points after."""
    micros, _, task_id = cursor.partition(".")
    return _moment(micros), task_id


def timeline_cursor(recorded: int) -> str:
    return str(recorded)


def after_entry(cursor: str) -> int:
    """The place in record order a `TIMELINE_CURSOR` points after."""
    return int(cursor)
