"""What callers ask of a trajectory: the API's request bodies, and the workflow's inputs that
wrap each body with who sent it.

A body holds only what the caller chooses; the wrapper adds what the server knows (the actor
from the caller's key, the milestone's fingerprint, the task id from the path), so no public
model carries a field the caller must not set.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from trajectory.actors import Actor
from trajectory.milestones import Milestone, Recorder
from trajectory.phases import Outcome
from trajectory.programmes import load_programmes
from trajectory.tasks import TaskDone
from trajectory.text import PlainText

PARTNER_ID_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"
"""The shape of a partner id (partners are data: which ones exist is the programmes' say)."""


def _packaged_partners(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(load_programmes())


PartnerId = Annotated[str, Field(pattern=PARTNER_ID_PATTERN, json_schema_extra=_packaged_partners)]
"""A partner that a body names: its schema lists the partners with a packaged programme, read
when the schema is made (the API checks the same when it reads the body)."""


class PauseRequest(BaseModel):
    """Stop every clock (illness, parental leave, detention, ...)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "illness: hospital stay"}]}
    )

    reason: PlainText | None = Field(default=None, max_length=200)


class ResumeRequest(BaseModel):
    """Restart the clocks where they stopped."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "back from hospital"}]}
    )

    reason: PlainText | None = Field(default=None, max_length=200)


class ReassignRequest(BaseModel):
    """Hand the participant to another partner."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"partner_id": "orientaeuro", "reason": "wants coaching in Spanish"}]
        },
    )

    partner_id: PartnerId
    reason: PlainText | None = Field(default=None, max_length=200)


class CloseRequest(BaseModel):
    """End the trajectory with an outcome and the case manager's reason."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "moved_away", "reason": "moved to Liège"}]},
    )

    outcome: Outcome
    reason: PlainText = Field(min_length=1, max_length=200)


SteeringBody = PauseRequest | ResumeRequest | ReassignRequest | CloseRequest


class RecordMilestone(BaseModel):
    """The workflow's input for a milestone: the body, its fingerprint and who sent it."""

    milestone: Milestone
    fingerprint: str = Field(
        description="what the milestone says, hashed once under the server's key by the sender "
        "of the Update; tells a repeat from a reused id, and names the Update"
    )
    actor: Actor | None = None

    @classmethod
    def of(cls, milestone: Milestone, key: bytes, actor: Actor | None = None) -> "RecordMilestone":
        """The input for `milestone` as `actor` (None: the engine) sends it, fingerprinted
        under `key` (the API's: `PersonKeys.milestone_key`)."""
        return cls(milestone=milestone, fingerprint=milestone.fingerprint(key), actor=actor)

    @property
    def recorded_by(self) -> Recorder:
        if self.actor is None:
            return Recorder.SYSTEM
        if self.actor.role == "case_manager":
            return Recorder.CASE_MANAGER
        return Recorder.PARTNER if self.actor.role == "partner" else Recorder.SYSTEM


class Steering(BaseModel):
    """What every steering input adds to its body: who sent it, and the API's id for this one
    request (the trajectory remembers `steering.STEERING_IDS_KEPT`), so that a copy sent again
    is refused."""

    actor: Actor | None = None
    request_id: str | None = None


class PauseTrajectory(Steering):
    request: PauseRequest = Field(default_factory=PauseRequest)


class ResumeTrajectory(Steering):
    request: ResumeRequest = Field(default_factory=ResumeRequest)


class ReassignParticipant(Steering):
    request: ReassignRequest


class CloseTrajectory(Steering):
    request: CloseRequest


class CompleteTask(BaseModel):
    """The workflow's input for a coach task's closure: the task from the path, the body, who."""

    task_id: str
    done: TaskDone
    actor: Actor | None = None
