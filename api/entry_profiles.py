"""A case manager completes the ESF+ entry profile of an enrolment made without one.

Until then the participant is counted apart in the programme report (`excluded_incomplete`);
once completed they count in every ESF+ indicator. A profile, once kept, is not replaced.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict

from api.deps import CallerDep, ClientIfConnectedDep, PoolDep, current_caller, require
from api.errors import ApiError
from api.participants import _AUTH_ERRORS, _NOT_FOUND, ParticipantId, current_state
from readmodel.enrolment import complete_entry_profile
from trajectory.actors import Role
from trajectory.enrolment import EntryProfile

router = APIRouter(
    prefix="/v1/participants",
    tags=["participants"],
    dependencies=[Depends(current_caller), Depends(require(Role.CASE_MANAGER))],
    responses=_AUTH_ERRORS,
)


class EntryProfileCompleted(BaseModel):
    """The participant now counts in the ESF+ indicators."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "p-3f2a9c0d1e4b5a6f7081",
                    "entry_profile": EntryProfile.model_json_schema()["examples"][0],
                }
            ]
        }
    )

    participant_id: str
    entry_profile: EntryProfile


@router.post(
    "/{participant_id}/entry-profile",
    status_code=201,
    summary="Complete the ESF+ entry profile of a participant enrolled without one",
    responses={
        **_NOT_FOUND,
        409: {"description": "the entry profile is complete already: `entry_profile_complete`"},
    },
)
async def complete_profile(
    participant_id: ParticipantId,
    profile: Annotated[EntryProfile, Body()],
    caller: CallerDep,
    client: ClientIfConnectedDep,
    pool: PoolDep,
) -> EntryProfileCompleted:
    """Gender, education and labour-market status at entry (age follows from the birth date,
    long-term unemployment from the PES registration day), sensitive answers included."""
    await current_state(client, pool, participant_id, caller)
    async with pool.acquire() as con:
        stored = await complete_entry_profile(con, participant_id, profile)
    if stored is None:
        raise ApiError(404, "not_found", f"no participant {participant_id}")
    if not stored:
        raise ApiError(
            409,
            "entry_profile_complete",
            "the participant's entry profile is complete already; it is not replaced",
        )
    return EntryProfileCompleted(participant_id=participant_id, entry_profile=profile)
