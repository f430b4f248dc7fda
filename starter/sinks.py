"""`python -m starter sinks`: a local mail server and SMS gateway for `make dev`.

Without `PARCOURS_SMTP_URL` and `PARCOURS_SMS_URL`, `make dev` runs this and points the worker
at it: every nudge the ladder sends is shown in the terminal, recipient masked, and goes no
further. The gateway sink checks each post's signature as a real gateway would.
"""

import argparse
import asyncio
import email
import email.policy
import logging
import signal
from email.message import EmailMessage

import structlog
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infra.logging import configure_logging
from infra.settings import get_settings
from infra.signing import WebhookVerificationError, verified
from trajectory.delivery import masked

log = structlog.stdlib.get_logger(__name__)

HOST = "127.0.0.1"
SMTP_CONVERSATION = "mail.log"
"""aiosmtpd's logger, which writes each recipient in full at INFO: kept to its warnings."""


class MailPrinter:
    """An SMTP handler that shows each message and keeps none."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        plain = message.get_body(preferencelist=("plain",))
        log.info(
            "email_sent",
            to=", ".join(masked(address) for address in envelope.rcpt_tos),
            language=message["Content-Language"],
            subject=message["Subject"],
            text=plain.get_content().strip() if plain is not None else None,
        )
        return "250 OK"


def gateway_app(secret: str | None) -> Starlette:
    """An SMS gateway that shows each signed post (`/sms`) and answers 200 to `/healthz`."""

    async def receive(request: Request) -> Response:
        body = await request.body()
        if secret is not None:
            try:
                verified(secret, body, request.headers)
            except WebhookVerificationError:
                log.warning("sms_refused", reason="bad signature")
                return JSONResponse({"error": "invalid_signature"}, status_code=401)
        message = await request.json()
        log.info(
            f"{message['channel']}_sent",
            to=masked(message["to"]),
            message_id=message["message_id"],
            text=message["text"],
        )
        return JSONResponse({"accepted": message["message_id"]})

    async def healthy(_: Request) -> Response:
        return Response("ok")

    return Starlette(routes=[Route("/sms", receive, methods=["POST"]), Route("/healthz", healthy)])


async def serve(smtp_port: int, sms_port: int) -> None:
    """Run both sinks until SIGINT or SIGTERM."""
    settings = get_settings()
    secret = settings.sms_secret.get_secret_value() if settings.sms_secret is not None else None
    loop = asyncio.get_running_loop()
    mail = await loop.create_server(lambda: SMTP(MailPrinter()), HOST, smtp_port)
    config = uvicorn.Config(
        gateway_app(secret), host=HOST, port=sms_port, log_config=None, lifespan="off"
    )
    gateway = uvicorn.Server(config)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(gateway.serve())
    log.info("sinks_ready", smtp=f"smtp://{HOST}:{smtp_port}", sms=f"http://{HOST}:{sms_port}/sms")
    await stop.wait()
    gateway.should_exit = True
    await serving
    mail.close()
    await mail.wait_closed()


def run(args: argparse.Namespace) -> int:
    configure_logging()
    logging.getLogger(SMTP_CONVERSATION).setLevel(logging.WARNING)
    asyncio.run(serve(args.smtp_port, args.sms_port))
    return 0


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`sinks`: the local mail server and SMS gateway that show what the worker sends."""
    sinks = subparsers.add_parser(
        "sinks", help="a local mail server and SMS gateway that show every nudge sent (make dev)"
    )
    sinks.add_argument("--smtp-port", type=int, default=8025)
    sinks.add_argument("--sms-port", type=int, default=8236)
    sinks.set_defaults(run=run)
