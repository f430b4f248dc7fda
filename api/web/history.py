"""A participant's timeline in words, newest first, as the API's timeline lets the reader see it
(a coach's view leaves out case managers' reasons: `api.timeline`)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.timeline import TimelineEntry, as_seen_by
from api.web.i18n import Translator
from api.web.sessions import WebSession
from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel.timeline import timeline
from trajectory.actors import Actor

SHOWN = 500
"""Entries a page shows at most, the newest."""
READ_AT_MOST = 20_000
"""Entries read to find the newest (the read model pages oldest first)."""


@dataclass(frozen=True)
class Line:
    """One entry as a page shows it."""

    at: datetime
    what: str
    details: list[str]
    who: str


def _value(t: Translator, field: str, value: Any) -> str:
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if t.has(choice := f"choice.{field}.{value}"):
        return t(choice)
    return str(value)


def _payload(t: Translator, payload: dict[str, Any]) -> list[str]:
    return [
        f"{t(f'field.{field}')}: {_value(t, field, value)}"
        for field, value in payload.items()
        if t.has(f"field.{field}")
    ]


def _who(t: Translator, actor: Actor | None) -> str:
    if actor is None:
        return t("actor.engine")
    parts = [t(f"role.{actor.role.value}")]
    if actor.partner_id:
        parts.append(actor.partner_id)
    if actor.user_id:
        parts.append(actor.user_id)
    if actor.key_id:
        parts.append(t("actor.key", key_id=actor.key_id))
    return " · ".join(parts)


def _what(t: Translator, entry: TimelineEntry) -> tuple[str, list[str]]:
    detail = entry.detail
    if entry.kind == "milestone":
        return t(f"milestone.{detail['type']}"), _payload(t, detail.get("payload") or {})
    if entry.kind == "nudge":
        said = [t(f"nudge.{detail['action']}"), t(f"channel.{detail['channel']}")]
        return t("timeline.nudge", level=detail["level"]), said
    if entry.kind in ("task_opened", "task_done"):
        kind = t(f"task.{detail['kind']}")
        if entry.kind == "task_opened":
            return t("timeline.task_opened", kind=kind), []
        said = [t("task.reached") if detail.get("reached") else t("task.not_reached")]
        if detail.get("note"):
            said.append(t("timeline.note", note=detail["note"]))
        return t("timeline.task_done", kind=kind), said
    said = []
    if detail.get("from_phase") != detail.get("to_phase"):
        phases = {
            "from": t(f"phase.{detail['from_phase']}"),
            "to": t(f"phase.{detail['to_phase']}"),
        }
        said.append(t("timeline.phases", **phases))
    said.append(t(f"status.{detail['status']}"))
    if detail.get("detail"):
        said.append(str(detail["detail"]))
    if detail.get("reason"):
        said.append(t("timeline.reason", reason=detail["reason"]))
    if entry.kind == "steering":
        return t(f"action.{detail['action']}"), said
    return t(f"cause.{detail['code']}"), said


async def history(
    pool: Pool, participant_id: str, session: WebSession, keys: PersonKeys, t: Translator
) -> list[Line]:
    """The newest `SHOWN` entries of the timeline, newest first, in the reader's words."""
    rows = await timeline(pool, participant_id, 0, READ_AT_MOST, keys)
    entries = [as_seen_by(session.caller, row) for row in rows[-SHOWN:]]
    lines = []
    for entry in reversed(entries):
        what, details = _what(t, entry)
        lines.append(Line(at=entry.at, what=what, details=details, who=_who(t, entry.actor)))
    return lines
