"""Signatures per the Standard Webhooks specification, for partner webhooks and the SMS gateway.

Headers `webhook-id`, `webhook-timestamp` (seconds since 1970) and `webhook-signature`
(`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the secret after
`whsec_`, base64-decoded). The `standardwebhooks` package signs and verifies, so a partner's
receiver can use the same package, or any of the specification's libraries, to check them.
"""

import base64
import secrets
from collections.abc import Mapping
from datetime import datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32

__all__ = ["SECRET_PREFIX", "WebhookVerificationError", "new_secret", "signed_headers", "verified"]


def new_secret() -> str:
    """A new signing secret, `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three headers that sign `body` as message `message_id`, sent at `at`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def verified(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise `WebhookVerificationError` unless `headers` sign `body` with `secret` within the
    specification's five minutes (a replayed old request fails)."""
    Webhook(secret).verify(body, dict(headers), json_parse=False)
