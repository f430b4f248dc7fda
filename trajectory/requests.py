"""How a case manager steers a trajectory: the API's request bodies and the workflow's inputs.

`actor` is set by the API from the caller's key, never taken from the body, so it stays out of
the published schema.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from trajectory.actors import Actor
from trajectory.phases import Outcome
from trajectory.programmes import load_programmes
from trajectory.text import PlainText

PARTNER_ID_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"
"""The shape of a partner id (partners are data: which ones exist is the programmes' say)."""


def _packaged_partners(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(load_programmes())


PartnerId = Annotated[str, Field(pattern=PARTNER_ID_PATTERN, json_schema_extra=_packaged_partners)]
"""A partner that a body names: its schema lists the partners with a packaged programme, read
when the schema is made (the API checks the same when it reads the body)."""


class SteeringRequest(BaseModel):
    """What every steering action carries besides its own fields."""

    model_config = ConfigDict(extra="forbid")

    actor: SkipJsonSchema[Actor | None] = None


class PauseRequest(SteeringRequest):
    """Stop every clock (illness, parental leave, detention, ...)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "illness: hospital stay"}]}
    )

    reason: PlainText | None = Field(default=None, max_length=200)


class ResumeRequest(SteeringRequest):
    """Restart the clocks where they stopped."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "back from hospital"}]})

    reason: PlainText | None = Field(default=None, max_length=200)


class ReassignRequest(SteeringRequest):
    """Hand the participant to another partner."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"partner_id": "orientaeuro", "reason": "wants coaching in Spanish"}]
        }
    )

    partner_id: PartnerId
    reason: PlainText | None = Field(default=None, max_length=200)


class CloseRequest(SteeringRequest):
    """End the trajectory with an outcome and the case manager's reason."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"outcome": "moved_away", "reason": "moved to Liège"}]}
    )

    outcome: Outcome
    reason: PlainText = Field(min_length=1, max_length=200)
