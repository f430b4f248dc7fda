"""The milestone catalogue: types, typed payloads and where the engine allows them (DESIGN §3)."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trajectory.phases import OPEN_PHASES, Phase
from trajectory.text import IsoDate, IsoTime, PlainText, plain_text

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The same instant written with any offset is the same number of microseconds after it (even
one that UTC cannot write, such as the first day of year 1 at +01:00)."""

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
CefrLevel = Literal["A1", "A2", "B1", "B2", "C1", "C2"]
PlacementKind = Literal[
    "employment", "self_employment", "traineeship", "apprenticeship", "education"
]
ContractType = Literal["permanent", "fixed_term", "temporary_agency", "other"]
"""The kind of employment contract an offer or a placement holds (Youth Guarantee: quality)."""
CertificateKind = Literal["diploma", "vocational_certificate", "skills_validation", "licence"]
"""Recognised qualifications (ESF+ EECR03): a school or higher-education diploma, a training
body's qualifying certificate, a validation of skills, a regulated licence (forklift, ...)."""


class MilestoneType(StrEnum):
    """Every kind of milestone a partner, case manager or the system may report."""

    INTAKE_INTERVIEW_HELD = "intake_interview_held"
    STREET_OUTREACH_CONTACT = "street_outreach_contact"
    LANGUAGE_ASSESSED = "language_assessed"
    DIGITAL_ASSESSED = "digital_assessed"
    COACH_ASSIGNED = "coach_assigned"
    SITUATION_STABILISED = "situation_stabilised"
    INTEGRATION_PROJECT_DEFINED = "integration_project_defined"
    OBSTACLES_IDENTIFIED = "obstacles_identified"
    ACTION_PLAN_AGREED = "action_plan_agreed"
    COACHING_SESSION_HELD = "coaching_session_held"
    PERSONAL_DEVELOPMENT_WORKSHOP = "personal_development_workshop"
    REMOBILISATION_ACTIVITY = "remobilisation_activity"
    BASIC_SKILLS_SESSION = "basic_skills_session"
    JOB_DAY_ATTENDED = "job_day_attended"
    APPLICATION_SENT = "application_sent"
    COMPANY_DAY_ATTENDED = "company_day_attended"
    PAID_MICRO_PROJECT_COMPLETED = "paid_micro_project_completed"
    EMPLOYER_MENTOR_MATCHED = "employer_mentor_matched"
    TRAINING_ENROLLED = "training_enrolled"
    TRAINING_SELECTED = "training_selected"
    TRAINING_COMPLETED = "training_completed"
    TRAINING_DROPPED = "training_dropped"
    JOB_OFFER_RECEIVED = "job_offer_received"
    PLACEMENT_STARTED = "placement_started"
    PLACEMENT_ENDED = "placement_ended"
    FOLLOW_UP_CONTACT = "follow_up_contact"
    PARTICIPANT_CONTACT = "participant_contact"
    WITHDRAWN = "withdrawn"
    MOVED_AWAY = "moved_away"


class Recorder(StrEnum):
    """Who recorded a milestone."""

    PARTNER = "partner"
    CASE_MANAGER = "case_manager"
    SYSTEM = "system"


class Payload(BaseModel):
    """Base of every milestone payload: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        """Text PostgreSQL refuses or no one can read is refused here, not retried forever."""
        return plain_text(value) if isinstance(value, str) else value


class NoDetails(Payload):
    """A milestone that carries no details."""


class LanguageAssessed(Payload):
    language: LanguageCode
    level: CefrLevel


class DigitalAssessed(Payload):
    level: int = Field(ge=1, le=8, description="DigComp 2.2 proficiency level")


class CoachAssigned(Payload):
    coach_ref: PlainText = Field(min_length=1, max_length=64)


class CoachingSessionHeld(Payload):
    mode: Literal["individual", "group"]


class JobDayAttended(Payload):
    sector: PlainText | None = Field(default=None, max_length=80)


class TrainingEnrolled(Payload):
    """A seat asked for; on a course that selects its trainees, an application."""

    course_id: PlainText = Field(min_length=1, max_length=64)


class TrainingSelected(Payload):
    """The course's provider selected the applicant: a seat is taken, if one is left."""

    course_id: PlainText = Field(min_length=1, max_length=64)


class Certificate(Payload):
    """A recognised qualification: its kind and the body that awarded it (not any free text)."""

    kind: CertificateKind
    awarding_body: PlainText = Field(min_length=2, max_length=120)


class TrainingCompleted(Payload):
    qualification: PlainText | None = Field(
        default=None, max_length=120, description="the qualification's title, in words"
    )
    certificate: Certificate | None = Field(
        default=None, description="the recognised qualification gained, if any (ESF+ EECR03)"
    )


class TrainingDropped(Payload):
    reason: PlainText | None = Field(default=None, max_length=200)


class OfferQuality(Payload):
    """What an offer of employment holds (Youth Guarantee: a good-quality offer)."""

    contract_type: ContractType | None = None
    contract_months: int | None = Field(
        default=None, ge=1, le=120, description="length of a fixed-term contract, in months"
    )

    @model_validator(mode="after")
    def _a_length_for_a_fixed_term(self) -> "OfferQuality":
        if self.contract_months is not None and self.contract_type in ("permanent", None):
            raise ValueError("contract_months: only a fixed-term or agency contract has a length")
        return self


class JobOfferReceived(OfferQuality):
    kind: PlacementKind | None = None


class PlacementStarted(OfferQuality):
    kind: PlacementKind
    start_date: IsoDate
    employer: PlainText | None = Field(default=None, max_length=120)
    contract: PlainText | None = Field(default=None, max_length=40)
    bottleneck_occupation: StrictBool = False
    in_training_sector: StrictBool = Field(
        default=False,
        description="the job is in the sector of the course the participant completed",
    )


class PlacementEnded(Payload):
    reason: PlainText | None = Field(default=None, max_length=200)


class FollowUpContact(Payload):
    """The participant's situation at a check-in: one status at a time (in employment, or else
    job searching), as ESF+ counts them; a later answer within the four weeks replaces it."""

    in_employment: StrictBool = Field(description="in employment, including self-employment")
    in_education_or_training: StrictBool = False
    job_searching: StrictBool = False
    qualification_gained: StrictBool = Field(
        default=False, description="true only with the `certificate` gained"
    )
    certificate: Certificate | None = None

    @model_validator(mode="after")
    def _one_status(self) -> "FollowUpContact":
        if self.in_employment and self.job_searching:
            raise ValueError(
                "job_searching: in employment and job searching exclude each other; report the "
                "status the participant is in now"
            )
        if self.qualification_gained and self.certificate is None:
            raise ValueError(
                "certificate: a qualification is a recognised certificate; give its kind and "
                "awarding_body"
            )
        return self


class Withdrawn(Payload):
    reason: PlainText | None = Field(default=None, max_length=200)


PAYLOADS: dict[MilestoneType, type[Payload]] = {
    MilestoneType.LANGUAGE_ASSESSED: LanguageAssessed,
    MilestoneType.DIGITAL_ASSESSED: DigitalAssessed,
    MilestoneType.COACH_ASSIGNED: CoachAssigned,
    MilestoneType.COACHING_SESSION_HELD: CoachingSessionHeld,
    MilestoneType.JOB_DAY_ATTENDED: JobDayAttended,
    MilestoneType.TRAINING_ENROLLED: TrainingEnrolled,
    MilestoneType.TRAINING_SELECTED: TrainingSelected,
    MilestoneType.TRAINING_COMPLETED: TrainingCompleted,
    MilestoneType.TRAINING_DROPPED: TrainingDropped,
    MilestoneType.JOB_OFFER_RECEIVED: JobOfferReceived,
    MilestoneType.PLACEMENT_STARTED: PlacementStarted,
    MilestoneType.PLACEMENT_ENDED: PlacementEnded,
    MilestoneType.FOLLOW_UP_CONTACT: FollowUpContact,
    MilestoneType.WITHDRAWN: Withdrawn,
}
"""Payload model of each type; types not listed carry `NoDetails`."""

UNIVERSAL: frozenset[MilestoneType] = frozenset(
    {MilestoneType.PARTICIPANT_CONTACT, MilestoneType.WITHDRAWN, MilestoneType.MOVED_AWAY}
)
"""Allowed in every open phase for every partner."""

NOT_CONTACT: frozenset[MilestoneType] = frozenset(
    {MilestoneType.COACH_ASSIGNED, MilestoneType.WITHDRAWN, MilestoneType.MOVED_AWAY}
)
"""Milestones that are recorded without the participant being reached."""

ENGINE_PHASES: dict[MilestoneType, frozenset[Phase]] = {
    MilestoneType.TRAINING_ENROLLED: frozenset({Phase.COACHING}),
    MilestoneType.TRAINING_SELECTED: frozenset({Phase.COACHING}),
    MilestoneType.TRAINING_COMPLETED: frozenset({Phase.TRAINING}),
    MilestoneType.TRAINING_DROPPED: frozenset({Phase.TRAINING}),
    MilestoneType.PLACEMENT_STARTED: frozenset({Phase.COACHING, Phase.PLACEMENT}),
    MilestoneType.PLACEMENT_ENDED: frozenset({Phase.PLACEMENT}),
    MilestoneType.FOLLOW_UP_CONTACT: frozenset({Phase.FOLLOW_UP}),
}
"""Phases in which the engine's own transitions allow a type; others are partner-defined."""


def engine_phases(milestone_type: MilestoneType) -> frozenset[Phase]:
    """Phases in which the engine can accept `milestone_type` at all."""
    return ENGINE_PHASES.get(milestone_type, frozenset(OPEN_PHASES))


AnyPayload = (
    LanguageAssessed
    | DigitalAssessed
    | CoachAssigned
    | CoachingSessionHeld
    | JobDayAttended
    | TrainingEnrolled
    | TrainingSelected
    | TrainingCompleted
    | TrainingDropped
    | JobOfferReceived
    | PlacementStarted
    | PlacementEnded
    | FollowUpContact
    | Withdrawn
    | NoDetails
)
"""Every payload model; `Milestone` picks the one its `type` names."""


class Milestone(BaseModel):
    """A reported fact about a participant; `milestone_id` is the sender's idempotency key.

    The API's request body as it is: who sent it travels beside it (`RecordMilestone`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    milestone_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")
    type: MilestoneType
    occurred_at: IsoTime
    payload: AnyPayload = Field(
        default_factory=NoDetails,
        validate_default=True,
        description="depends on `type`: see each payload model; most types take `{}`",
    )

    @field_validator("payload", mode="before")
    @classmethod
    def _typed_payload(cls, value: Any, info: ValidationInfo) -> Any:
        """Parse the payload once, into the model of the milestone's type."""
        kind = info.data.get("type")
        if kind is None:
            return value
        model = PAYLOADS.get(kind, NoDetails)
        if isinstance(value, Payload) and not isinstance(value, model):
            value = value.model_dump()
        return model.model_validate(value)

    def details(self) -> Payload:
        """The payload as its typed model."""
        return self.payload

    def payload_json(self) -> dict[str, Any]:
        """The payload as stored and shown: the fields given, without the empty ones."""
        return self.payload.model_dump(mode="json", exclude_none=True)

    def fingerprint(self, key: bytes) -> str:
        """The milestone (id, type, time, payload) hashed under `key` (HMAC-SHA256): tells a
        repeat from a reuse of its id, and, being keyed, tells nothing of a low-entropy payload
        to whoever lacks the key (it names the milestone's Update, which Temporal keeps in
        clear)."""
        said = {
            "milestone_id": self.milestone_id,
            "type": self.type.value,
            "occurred_at": (self.occurred_at - _EPOCH) // timedelta(microseconds=1),
            "payload": self.payload_json(),
        }
        text = json.dumps(said, sort_keys=True).encode()
        return hmac.new(key, text, hashlib.sha256).hexdigest()[:32]

    def report_json(self) -> dict[str, Any]:
        """The milestone as a partner sends it to the API."""
        return {**self.model_dump(mode="json", exclude={"payload"}), "payload": self.payload_json()}

    @property
    def is_contact(self) -> bool:
        """Whether the participant was really reached (resets the silence clock)."""
        return self.type not in NOT_CONTACT


class LastMilestone(BaseModel):
    """The most recent accepted milestone, as shown in a participant's state."""

    type: MilestoneType
    occurred_at: datetime
