"""Whether a nudge message can reach the person, and what the trajectory learns when it cannot
(DESIGN §8.2).

The ladder's activity answers at once when the person has no usable channel (no address, consent
withdrawn, a number that sent STOP, erased); the outbox sender tells the trajectory by signal
when a message still failed after its last try. Either way the next rung falls due at once: a
person nobody can reach gets the coach's call sooner, never silence.
"""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from trajectory.programme import Channel

UNDELIVERED_SIGNAL = "nudge_undelivered"
"""The signal the outbox sender sends to a trajectory whose message could not be delivered."""

MESSAGE_CHANNELS: tuple[Channel, ...] = (Channel.SMS, Channel.WHATSAPP, Channel.EMAIL)
"""Channels that carry a message to the person (the others are tasks for people)."""

MessageChannel = Literal["sms", "email", "whatsapp"]

Undeliverable = Literal[
    "erased",
    "no_phone",
    "no_email",
    "consent_withdrawn",
    "number_opted_out",
    "refused_by_provider",
    "no_provider",
    "still_failing",
]
"""Why a message did not reach the person, as a code (never an address or a provider's text)."""


class NudgeOutcome(BaseModel):
    """What carrying out a rung found: a message queued for a usable channel, or not."""

    reachable: bool = Field(description="a task, or a message with a usable channel")
    why: Undeliverable | None = Field(default=None, description="when not reachable")


class ConsentChange(BaseModel):
    """Whether the participant lets `channel` reach them from now on."""

    model_config = ConfigDict(extra="forbid")

    channel: MessageChannel
    allowed: StrictBool


class UndeliveredNudge(BaseModel):
    """The message of rung `nudge_seq` was not delivered after its last try."""

    nudge_seq: int
    why: Undeliverable


_SEPARATORS = re.compile(r"[ ./\-]")


def e164(phone: str, country_code: str = "32") -> str:
    """A phone number as `+` and digits: `0470 12 34 56` (Belgian) and `0032...` both become
    `+32470123456`, so a number written two ways is one number."""
    digits = _SEPARATORS.sub("", phone.strip())
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    if digits.startswith("0"):
        return f"+{country_code}{digits[1:]}"
    return f"+{digits}"


def masked(address: str) -> str:
    """An address as a terminal may show it: `+32470****56`, `y***@example.org`."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:6]}{'*' * max(len(address) - 8, 0)}{address[-2:]}"
