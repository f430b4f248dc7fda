"""The channels nudge messages leave by: e-mail over SMTP, SMS and WhatsApp through the HTTP
gateway (DESIGN §8.2). Each delivers one message to one address, with the message's id as the
idempotency key; `DeliveryRefused` says the provider will never take it, any other error that
trying again later may work."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from infra.settings import Settings
from infra.signing import signed_headers
from readmodel.outbox import OutboxMessage
from trajectory.delivery import Undeliverable

SMTP_TIMEOUT = 30.0
GATEWAY_TIMEOUT = 15.0
RETRYABLE_STATUS = frozenset({408, 425, 429})
"""Gateway answers that mean "not now" (with any 5xx); any other 4xx refuses the message."""


class DeliveryRefused(Exception):
    """The provider refused the message for good (an invalid address, ...): no retry."""

    def __init__(self, why: Undeliverable, detail: str) -> None:
        super().__init__(detail)
        self.why: Undeliverable = why


class Channel(Protocol):
    """Delivers one message to one address (a phone number in E.164, an e-mail address)."""

    async def deliver(self, message: OutboxMessage, to: str) -> None: ...


class Unconfigured:
    """A channel without a provider: every message fails, and the ladder climbs on."""

    async def deliver(self, message: OutboxMessage, to: str) -> None:
        raise DeliveryRefused("no_provider", f"no provider is configured for {message.channel}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EmailChannel:
    """E-mail through an SMTP relay: `smtps://` implicit TLS, `smtp://` STARTTLS (required in
    production, when offered in development), with the login in the URL if any."""

    def __init__(self, smtp_url: str, mail_from: str, *, require_tls: bool) -> None:
        parts = urlsplit(smtp_url)
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._implicit_tls else 587)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._start_tls = None if self._implicit_tls or not require_tls else True
        self._from = mail_from
        self._domain = mail_from.rpartition("@")[2].strip("> ") or "parcours.invalid"

    def email(self, message: OutboxMessage, to: str, now: datetime) -> EmailMessage:
        """The message as sent: plain text with an HTML alternative, both and the whole marked
        with its language."""
        email = EmailMessage()
        email["From"] = self._from
        email["To"] = Address(addr_spec=to)
        email["Subject"] = message.subject
        email["Date"] = format_datetime(now)
        email["Message-ID"] = f"<{message.message_id}@{self._domain}>"
        email.set_content(message.body)
        html = f'<html lang="{message.language}"><body><p>{escape(message.body)}</p></body></html>'
        email.add_alternative(html, subtype="html")
        email["Content-Language"] = message.language  # after: the parts took the first one
        return email

    async def deliver(self, message: OutboxMessage, to: str) -> None:
        try:
            await aiosmtplib.send(
                self.email(message, to, _utc_now()),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._implicit_tls,
                start_tls=self._start_tls,
                timeout=SMTP_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            if all(refused.code >= 500 for refused in error.recipients):
                raise DeliveryRefused(
                    "refused_by_provider", "the relay refused the address"
                ) from None
            raise
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500 and not isinstance(error, aiosmtplib.SMTPAuthenticationError):
                raise DeliveryRefused("refused_by_provider", f"SMTP {error.code}") from None
            raise


class GatewayChannel:
    """SMS and WhatsApp through the HTTP gateway: `{"message_id", "channel", "to", "text"}`,
    signed like a webhook. A 2xx took it; 408, 425, 429 and 5xx are tried again later; any
    other answer refuses it. The gateway drops a repeated `message_id`."""

    def __init__(
        self,
        url: str,
        secret: str,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._url = url
        self._secret = secret
        self._http = http
        self._clock = clock

    async def deliver(self, message: OutboxMessage, to: str) -> None:
        body = json.dumps(
            {
                "message_id": message.message_id,
                "channel": message.channel,
                "to": to,
                "text": message.body,
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            **signed_headers(self._secret, message.message_id, self._clock(), body),
            "content-type": "application/json",
            "idempotency-key": message.message_id,
        }
        answer = await self._http.post(self._url, content=body, headers=headers)
        status = answer.status_code
        if status < 300:
            return
        if status >= 500 or status in RETRYABLE_STATUS:
            raise ConnectionError(f"the gateway answered {status}")
        raise DeliveryRefused("refused_by_provider", f"the gateway answered {status}")


def configured_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    """The channels the settings give, by name; a channel without a provider fails its messages."""
    email: Channel = Unconfigured()
    texts: Channel = Unconfigured()
    if settings.smtp_url is not None:
        email = EmailChannel(
            settings.smtp_url.get_secret_value(),
            settings.mail_from,
            require_tls=settings.environment == "production",
        )
    if settings.sms_url is not None and settings.sms_secret is not None:
        texts = GatewayChannel(settings.sms_url, settings.sms_secret.get_secret_value(), http)
    return {"email": email, "sms": texts, "whatsapp": texts}


def gateway_client() -> httpx.AsyncClient:
    """The HTTP client the gateway is reached with: no redirects followed."""
    return httpx.AsyncClient(timeout=GATEWAY_TIMEOUT, follow_redirects=False)
