"""The Youth Guarantee's first offer: when it came, what it offered, and how good it was."""

from datetime import datetime

from pydantic import BaseModel

from trajectory.milestones import (
    ContractType,
    JobOfferReceived,
    Payload,
    PlacementKind,
    PlacementStarted,
)

OFFER_KINDS: frozenset[PlacementKind] = frozenset(
    {"employment", "education", "apprenticeship", "traineeship"}
)
"""Offers the Youth Guarantee counts: employment, continued education (a training seat too),
an apprenticeship, a traineeship. Starting one's own business is no offer."""


class Offer(BaseModel):
    at: datetime
    kind: PlacementKind
    contract_type: ContractType | None = None
    contract_months: int | None = None


def offer_in(details: Payload, at: datetime) -> Offer | None:
    """The offer a `job_offer_received` or `placement_started` makes, if the Youth Guarantee
    counts it; an offer whose kind is not given is one of employment."""
    if not isinstance(details, JobOfferReceived | PlacementStarted):
        return None
    kind: PlacementKind = details.kind or "employment"
    if kind not in OFFER_KINDS:
        return None
    job = kind == "employment"
    return Offer(
        at=at,
        kind=kind,
        contract_type=details.contract_type if job else None,
        contract_months=details.contract_months if job else None,
    )


def training_seat(at: datetime) -> Offer:
    """A seat in a training course: an offer of continued education."""
    return Offer(at=at, kind="education")
