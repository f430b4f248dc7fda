"""The form a milestone's payload needs, read from its payload model (`trajectory.milestones`).

A level picker for a CEFR or DigComp level, a list for every closed choice, a checkbox for a yes
or no, a date picker for a day, a text box for free text; a training enrolment picks from the
courses with their free seats. The form's values become the same `Milestone` the API reads.
"""

import types
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from trajectory.daytime import BRUSSELS
from trajectory.milestones import PAYLOADS, MilestoneType, NoDetails

Control = Literal["select", "text", "date", "checkbox"]

LANGUAGE_CHOICES = ("fr", "nl", "en", "de", "es", "it", "pt", "ar", "tr", "ro", "pl")
"""Languages a competence is assessed in: the programme's three, then the most spoken others."""
COURSE_FIELD = "course_id"


@dataclass(frozen=True)
class FormField:
    """One control of a milestone's form."""

    name: str
    control: Control
    required: bool
    choices: tuple[str, ...] = ()
    translated: bool = False
    """Choices are shown through the catalogue (`choice.<name>.<value>`), not as they are."""
    max_length: int | None = None
    number: bool = False
    """The value is a whole number (a DigComp level)."""


def _literal_choices(annotation: Any) -> tuple[str, ...] | None:
    """The values of a `Literal[...]` annotation, or of `Literal[...] | None`."""
    if get_origin(annotation) is Literal:
        return tuple(str(value) for value in get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        for part in get_args(annotation):
            if (found := _literal_choices(part)) is not None:
                return found
    return None


def _field(name: str, info: FieldInfo) -> FormField:
    required = info.is_required()
    limits: dict[type, Any] = {type(item): item for item in info.metadata}
    if name == COURSE_FIELD:
        return FormField(name, "select", required)
    if name == "language":
        return FormField(name, "select", required, LANGUAGE_CHOICES)
    if (choices := _literal_choices(info.annotation)) is not None:
        return FormField(name, "select", required, choices, translated=name != "level")
    if info.annotation is bool:
        return FormField(name, "checkbox", False)
    if info.annotation is int and Ge in limits and Le in limits:
        low, high = int(limits[Ge].ge), int(limits[Le].le)
        levels = tuple(str(level) for level in range(low, high + 1))
        return FormField(name, "select", required, levels, number=True)
    if info.annotation is date:
        return FormField(name, "date", required)
    max_length = limits[MaxLen].max_length if MaxLen in limits else None
    return FormField(name, "text", required, max_length=max_length)


def payload_fields(milestone_type: MilestoneType) -> list[FormField]:
    """The controls of the form for `milestone_type`, in the payload model's order."""
    model = PAYLOADS.get(milestone_type, NoDetails)
    return [_field(name, info) for name, info in model.model_fields.items()]


def payload_of(milestone_type: MilestoneType, form: FormData) -> dict[str, Any]:
    """The payload the form's values say; empty optional fields are left out, an unticked box
    is false. The payload model checks the rest."""
    payload: dict[str, Any] = {}
    for field in payload_fields(milestone_type):
        sent = form.get(field.name)
        if field.control == "checkbox":
            payload[field.name] = sent is not None
            continue
        value = sent.strip() if isinstance(sent, str) else ""
        if not value:
            continue
        payload[field.name] = int(value) if field.number and value.isdigit() else value
    return payload


def local_input(moment: datetime) -> str:
    """A moment as a `datetime-local` control shows it: Brussels time, to the minute."""
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M")


def occurred_at(sent: str) -> str:
    """A `datetime-local` value, read as Brussels time, with its offset (ISO 8601)."""
    try:
        local = datetime.fromisoformat(sent)
    except ValueError:
        return sent  # the milestone's model names it
    return local.replace(tzinfo=BRUSSELS).isoformat()
