"""Partners' webhooks: register, list and delete (DESIGN §8.2).

A partner's webhook hears about its own participants (after a reassignment, the new partner's
hears what follows); a case manager's hears about everyone. Every post is signed with the
webhook's secret, shown once, when the webhook is made.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict

from api.deps import CallerDep, PersonKeysDep, PoolDep, SettingsDep, current_caller, require
from api.errors import ApiError
from api.participants import _AUTH_ERRORS, _error
from infra.outbound import UnsafeUrl, check_url
from infra.signing import new_secret
from readmodel import webhooks
from trajectory.actors import Role
from trajectory.events import EventType, WebhookCreate

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(current_caller), Depends(require(Role.CASE_MANAGER, Role.PARTNER))],
    responses=_AUTH_ERRORS,
)

WebhookId = Annotated[str, Path(pattern=r"^wh_[0-9a-f]{20}$", examples=["wh_3f2a9c0d1e4b5a6f7081"])]


_EXAMPLE: dict[str, Any] = {
    "webhook_id": "wh_3f2a9c0d1e4b5a6f7081",
    "partner_id": "jes",
    "url": "https://hooks.partner.example/parcours",
    "events": ["task.opened", "trajectory.closed"],
    "created_at": "2026-03-27T09:00:00Z",
    "delivered": 41,
    "pending": 1,
    "failed": 0,
    "last_failed_at": None,
    "last_failure": None,
}


class WebhookPublic(BaseModel):
    """A webhook and what its deliveries came to; `partner_id` null: every participant's."""

    webhook_id: str
    partner_id: str | None
    url: str
    events: list[EventType]
    created_at: datetime
    delivered: int
    pending: int
    failed: int
    last_failed_at: datetime | None
    last_failure: str | None


class WebhookCreated(WebhookPublic):
    """A new webhook, with its signing secret: shown this once, never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "delivered": 0,
                    "pending": 0,
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                }
            ]
        }
    )

    secret: str


class WebhookList(BaseModel):
    """Webhooks, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE]}]})

    items: list[WebhookPublic]


def _public(row: dict[str, Any]) -> WebhookPublic:
    return WebhookPublic(**row)


@router.post(
    "",
    status_code=201,
    summary="Register a webhook",
    responses={422: _error("the URL is not accepted (https:// only, no private address)")},
)
async def create_webhook(
    body: WebhookCreate,
    caller: CallerDep,
    pool: PoolDep,
    keys: PersonKeysDep,
    settings: SettingsDep,
) -> WebhookCreated:
    """201 with `webhook_id` and the signing `secret` (`whsec_` + base64), shown only now.
    Posts are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`)."""
    try:
        check_url(body.url, settings.environment)
    except UnsafeUrl as error:
        raise ApiError(422, "invalid_request", f"url: {error}") from None
    secret = new_secret()
    row = await webhooks.create_webhook(pool, caller.actor, body.url, body.events, secret, keys)
    return WebhookCreated(
        **row,
        delivered=0,
        pending=0,
        failed=0,
        last_failed_at=None,
        last_failure=None,
        secret=secret,
    )


@router.get("", summary="List webhooks")
async def list_webhooks(caller: CallerDep, pool: PoolDep) -> WebhookList:
    """A partner's own; a case manager sees every webhook. Each says how many of its deliveries
    were delivered, are still being tried, and failed after 24 hours of tries."""
    partner_id = caller.partner_id if caller.role == Role.PARTNER else None
    return WebhookList(
        items=[_public(row) for row in await webhooks.list_webhooks(pool, partner_id)]
    )


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook",
    responses={404: _error("no such webhook, or another partner's")},
)
async def delete_webhook(webhook_id: WebhookId, caller: CallerDep, pool: PoolDep) -> Response:
    """No more posts to it, from now on."""
    partner_id = caller.partner_id if caller.role == Role.PARTNER else None
    if not await webhooks.delete_webhook(pool, webhook_id, partner_id):
        raise ApiError(404, "not_found", f"no webhook {webhook_id}")
    return Response(status_code=204)
