"""The mail server and SMS gateway `make dev` runs without a real provider
(`python -m starter sinks`): each message sent shows in the terminal, its recipient masked, and
the gateway takes only posts signed with the stack's secret."""

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from infra.signing import new_secret, signed_headers

SECRET = new_secret()
ADDRESS = "yasmina.benali@example.org"
NUMBER = "+32470555033"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Sinks:
    """The sinks' process, where they listen, and what it wrote."""

    def __init__(self, process: asyncio.subprocess.Process, smtp_port: int, sms_port: int) -> None:
        self.process = process
        self.smtp_port = smtp_port
        self.sms_url = f"http://127.0.0.1:{sms_port}/sms"
        self.healthz = f"http://127.0.0.1:{sms_port}/healthz"

    async def output(self) -> list[dict[str, object]]:
        """Stop the process; the JSON lines it logged."""
        self.process.terminate()
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        lines = (stdout + stderr).decode().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
async def sinks() -> AsyncIterator[Sinks]:
    smtp_port, sms_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "starter", "sinks", "--smtp-port", str(smtp_port), "--sms-port", str(sms_port)),
        env={**os.environ, "PARCOURS_SMS_SECRET": SECRET, "PARCOURS_SMS_URL": "http://x/sms"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = Sinks(process, smtp_port, sms_port)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    if (await http.get(running.healthz)).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("the sinks never answered /healthz")
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_make_devs_sinks_show_each_message_with_its_recipient_masked(sinks: Sinks) -> None:
    email = EmailMessage()
    email["From"] = "parcours@jes.example"
    email["To"] = ADDRESS
    email["Subject"] = "Des nouvelles de JES"
    email.set_content("Bonjour ! On ne t'a plus vu depuis un moment.")
    email["Content-Language"] = "fr"
    await aiosmtplib.send(email, hostname="127.0.0.1", port=sinks.smtp_port)

    body = json.dumps(
        {"message_id": "m-1", "channel": "sms", "to": NUMBER, "text": "Bonjour ! STOP"}
    ).encode()
    async with httpx.AsyncClient() as http:
        signed = await http.post(
            sinks.sms_url,
            content=body,
            headers=signed_headers(SECRET, "m-1", datetime.now(UTC), body),
        )
        forged = await http.post(
            sinks.sms_url,
            content=body,
            headers=signed_headers(new_secret(), "m-2", datetime.now(UTC), body),
        )
    assert signed.status_code == 200
    assert forged.status_code == 401

    logged = await sinks.output()
    shown = json.dumps(logged)
    assert ADDRESS not in shown and NUMBER not in shown
    [mail] = [line for line in logged if line.get("event") == "email_sent"]
    assert mail["to"] == "y***@example.org"
    assert (mail["language"], mail["subject"]) == ("fr", "Des nouvelles de JES")
    assert mail["text"] == "Bonjour ! On ne t'a plus vu depuis un moment."
    [sms] = [line for line in logged if line.get("event") == "sms_sent"]
    assert sms["to"] == "+32470****33"
    assert (sms["message_id"], sms["text"]) == ("m-1", "Bonjour ! STOP")
    assert [line for line in logged if line.get("event") == "sms_refused"]
