"""Consent: a participant allows or refuses a message channel (DESIGN §8.2)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends
from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict

from api.deps import CallerDep, ClientIfConnectedDep, PoolDep, current_caller, require
from api.participants import _AUTH_ERRORS, _NOT_FOUND, ParticipantId, current_state
from readmodel.consents import record_consent
from trajectory.actors import Role
from trajectory.delivery import ConsentChange, MessageChannel

router = APIRouter(
    prefix="/v1/participants",
    tags=["participants"],
    dependencies=[Depends(current_caller)],
    responses=_AUTH_ERRORS,
)

_EXAMPLES: dict[str, Example] = {
    "refuse SMS": {"summary": "No more SMS", "value": {"channel": "sms", "allowed": False}},
    "allow e-mail": {"summary": "E-mail again", "value": {"channel": "email", "allowed": True}},
}


class ConsentPublic(BaseModel):
    """The consent now in force for one channel, and when it was given or withdrawn."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "p-3f2a9c0d1e4b5a6f7081",
                    "channel": "sms",
                    "allowed": False,
                    "at": "2026-03-27T09:00:00Z",
                }
            ]
        }
    )

    participant_id: str
    channel: MessageChannel
    allowed: bool
    at: datetime


@router.post(
    "/{participant_id}/consent",
    dependencies=[Depends(require(Role.CASE_MANAGER, Role.PARTNER))],
    summary="Allow or refuse a message channel",
    responses=_NOT_FOUND,
)
async def change_consent(
    participant_id: ParticipantId,
    body: Annotated[ConsentChange, Body(openapi_examples=_EXAMPLES)],
    caller: CallerDep,
    client: ClientIfConnectedDep,
    pool: PoolDep,
) -> ConsentPublic:
    """From now on nudges use the channel only if allowed (a refused one is never used, and
    the ladder moves to the next rung instead); the timeline shows the change and who made it.
    A number that sent STOP gets no SMS whatever is allowed here."""
    await current_state(client, pool, participant_id, caller)
    async with pool.acquire() as con:
        at = await record_consent(con, participant_id, body.channel, body.allowed, caller.actor)
    return ConsentPublic(
        participant_id=participant_id, channel=body.channel, allowed=body.allowed, at=at
    )
