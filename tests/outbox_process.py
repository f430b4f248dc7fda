"""The outbox sender alone in a process of its own, for the crash test:
`python -m tests.outbox_process GATEWAY_URL SECRET` (with DATABASE_URL set). It keeps the
afternoon's clock, so that it sends whatever the time of the test."""

import asyncio
import sys
from datetime import UTC, datetime

import httpx

from activities.channels import Channel, GatewayChannel, Unconfigured
from activities.notifications import OutboxSender
from infra.database import open_pool
from infra.person_keys import configured_person_keys
from infra.settings import get_settings

AFTERNOON = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


async def main(url: str, secret: str) -> None:
    settings = get_settings()
    pool = await open_pool(settings)
    async with httpx.AsyncClient(timeout=60) as http:
        texts = GatewayChannel(url, secret, http)
        channels: dict[str, Channel] = {"sms": texts, "whatsapp": texts, "email": Unconfigured()}
        keys = configured_person_keys(settings)
        sender = OutboxSender(pool, channels, keys, clock=lambda: AFTERNOON)
        await sender.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
