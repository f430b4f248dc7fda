"""What partners hear by webhook (DESIGN §8.2): ids, codes and times, never personal data nor a
case manager's words."""

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trajectory.phases import Cause, Status
from trajectory.records import NudgeRequest, PhaseTransition
from trajectory.tasks import task_id_for

EventType = Literal[
    "participant.assigned", "phase.changed", "task.opened", "nudge.sent", "trajectory.closed"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "participant.assigned",
    "phase.changed",
    "task.opened",
    "nudge.sent",
    "trajectory.closed",
)


WEBHOOK_URL_PATTERN = r"^(https://[A-Za-z0-9.-]+|http://127\.0\.0\.1)(:[0-9]{1,5})?(/[!-~]*)?$"
"""An https:// URL (or http://127.0.0.1, which only development accepts), without a login."""


class WebhookCreate(BaseModel):
    """A webhook to register: where to post, and which events."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.partner.example/parcours",
                    "events": ["task.opened", "trajectory.closed"],
                }
            ]
        },
    )

    url: str = Field(
        max_length=2000,
        pattern=WEBHOOK_URL_PATTERN,
        description="https:// URL that receives the events (http://127.0.0.1 in development); "
        "in production its host must resolve to public addresses only",
    )
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


class Event(BaseModel):
    """One event about a participant; `key` names its cause, so it is queued once."""

    key: str
    type: EventType
    participant_id: str
    partner_id: str | None = Field(description="None: the partner holding the participant now")
    at: datetime
    data: dict[str, Any]

    def body(self, partner_id: str) -> str:
        """The JSON posted, as signed: `type`, `participant_id`, `partner_id`, `at`, `data`."""
        return json.dumps(
            {
                "type": self.type,
                "participant_id": self.participant_id,
                "partner_id": partner_id,
                "at": self.at.isoformat(),
                "data": self.data,
            },
            separators=(",", ":"),
            sort_keys=True,
        )


def transition_events(
    participant_id: str, partner_id: str, change: PhaseTransition, outcome: str | None
) -> list[Event]:
    """What a phase or status change tells partners: `phase.changed`, and `participant.assigned`
    to the new partner of a reassignment or `trajectory.closed` (with the outcome) for a
    closing."""
    key = f"{participant_id}/transition/{change.seq}/{change.at.isoformat()}"
    data = {
        "from_phase": change.from_phase.value,
        "to_phase": change.to_phase.value,
        "status": change.status.value,
        "code": change.code.value,
    }

    def event(kind: EventType, details: dict[str, Any]) -> Event:
        return Event(
            key=f"{key}/{kind}",
            type=kind,
            participant_id=participant_id,
            partner_id=partner_id,
            at=change.at,
            data=details,
        )

    events = [event("phase.changed", data)]
    if change.code == Cause.REASSIGNED:
        events.append(event("participant.assigned", {"code": change.code.value}))
    if change.status == Status.CLOSED:
        events.append(event("trajectory.closed", {"code": change.code.value, "outcome": outcome}))
    return events


def enrolled(participant_id: str, partner_id: str, at: datetime) -> Event:
    """A participant enrolled with a partner: that partner's first `participant.assigned`."""
    return Event(
        key=f"{participant_id}/enrolled",
        type="participant.assigned",
        participant_id=participant_id,
        partner_id=partner_id,
        at=at,
        data={"code": "enrolled"},
    )


def task_opened(nudge: NudgeRequest) -> Event:
    """A rung asked a coach or a street worker to act."""
    task_id = nudge.task_id or task_id_for(nudge.participant_id, nudge.seq)
    return Event(
        key=f"{nudge.participant_id}/task/{task_id}/{nudge.sent_at.isoformat()}",
        type="task.opened",
        participant_id=nudge.participant_id,
        partner_id=nudge.partner_id,
        at=nudge.sent_at,
        data={
            "task_id": task_id,
            "kind": nudge.action,
            "nudge_level": nudge.level,
            "due_at": nudge.task_due_at.isoformat() if nudge.task_due_at else None,
        },
    )


def nudge_sent(
    participant_id: str, nudge_seq: int, channel: str, message_id: str, at: datetime
) -> Event:
    """A nudge message left for the participant (to the partner holding them now)."""
    return Event(
        key=f"{participant_id}/nudge/{message_id}",
        type="nudge.sent",
        participant_id=participant_id,
        partner_id=None,
        at=at,
        data={"nudge_seq": nudge_seq, "channel": channel, "message_id": message_id},
    )
