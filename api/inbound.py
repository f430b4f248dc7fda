"""What the SMS gateway receives from participants (DESIGN §8.2): `STOP` ends SMS to a number.

The gateway signs its posts like the engine signs its own to it (Standard Webhooks, with
`PARCOURS_SMS_SECRET`); an unsigned, wrongly signed or stale post answers 401 and is not read.
"""

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import PersonKeysDep, PoolDep, SettingsDep
from api.errors import ApiError, ErrorPublic, describe_errors
from infra.signing import WebhookVerificationError, verified
from readmodel.consents import stop_number
from trajectory.delivery import e164

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])

STOP_WORDS = frozenset({"STOP", "ARRET", "ARRÊT", "STOPPEN"})
"""A text whose first word is one of these stops SMS (the messages say `STOP`)."""


class InboundSms(BaseModel):
    """A text sent to the programme's number, as the gateway forwards it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    sender: str = Field(alias="from", max_length=30, pattern=r"^\+?[0-9 ./\-]{6,}$")
    text: str = Field(
        max_length=1600,
        json_schema_extra={"pattern": r"^[\s\S]*$"},
        description="the text as received, whatever it holds",
    )


class InboundAnswer(BaseModel):
    """What the text did: `stopped` (no SMS to the number again) or `ignored`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"action": "stopped"}]})

    action: Literal["stopped", "ignored"]


def _stops(text: str) -> bool:
    words = text.strip().upper().split()
    return bool(words) and words[0].strip(".!") in STOP_WORDS


@router.post(
    "/sms",
    summary="A text the SMS gateway received (signed by the gateway)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": InboundSms.model_json_schema(by_alias=True),
                    "examples": {
                        "stop": {
                            "summary": "STOP",
                            "value": {"from": "+32470123456", "text": "STOP"},
                        }
                    },
                }
            },
        }
    },
    responses={
        401: {"model": ErrorPublic, "description": "not signed by the gateway, or too old"},
        422: {"model": ErrorPublic, "description": "malformed; the detail names the field"},
        404: {"model": ErrorPublic, "description": "no SMS gateway is configured here"},
    },
)
async def inbound_sms(
    request: Request, pool: PoolDep, keys: PersonKeysDep, settings: SettingsDep
) -> InboundAnswer:
    """`STOP` (or ARRET, STOPPEN) as the first word: no SMS goes to the number again, and each
    participant it was texted for has SMS refused on their timeline. Other texts are ignored."""
    if settings.sms_secret is None:
        raise ApiError(404, "not_found", "no SMS gateway is configured (PARCOURS_SMS_SECRET)")
    body = await request.body()
    try:
        verified(settings.sms_secret.get_secret_value(), body, request.headers)
    except WebhookVerificationError:
        raise ApiError(401, "invalid_signature", "not signed by the SMS gateway") from None
    try:
        text = InboundSms.model_validate_json(body)
    except ValidationError as error:
        raise ApiError(422, "invalid_request", describe_errors(error.errors())) from None
    if not _stops(text.text):
        return InboundAnswer(action="ignored")
    async with pool.acquire() as con, con.transaction():
        await stop_number(con, keys.contact_fingerprints(e164(text.sender)), keys.current)
    return InboundAnswer(action="stopped")
