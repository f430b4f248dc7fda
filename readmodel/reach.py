"""Whether a channel reaches a person, and at which address: read from the persons vault, with
consent and STOP honoured. The address leaves here only for the channel that delivers."""

from dataclasses import dataclass

from infra.database import Connection
from infra.person_keys import PersonKeys
from readmodel.consents import number_opted_out, refused_channels
from readmodel.persons import read_person
from trajectory.delivery import Undeliverable, e164


@dataclass(frozen=True)
class Reach:
    """The address a channel reaches the person at, or why none."""

    address: str | None = None
    why: Undeliverable | None = None
    fingerprints: tuple[bytes, ...] = ()
    """The address's keyed hashes (SMS), the current key's first."""


async def reach(
    con: Connection,
    participant_id: str,
    channel: str,
    keys: PersonKeys,
    *,
    reader: str,
    purpose: str,
) -> Reach:
    """The person's address on `channel` (`sms`, `whatsapp`: the phone in E.164; `email`), read
    and audited as `reader` for `purpose`; why not when erased, missing, refused or stopped."""
    person = await read_person(con, participant_id, reader, purpose=purpose, keys=keys)
    if person is None:
        return Reach(why="erased")
    if channel == "email":
        if person.email is None:
            return Reach(why="no_email")
        address = str(person.email)
    elif person.phone is None:
        return Reach(why="no_phone")
    else:
        address = e164(person.phone)
    if channel in await refused_channels(con, participant_id):
        return Reach(why="consent_withdrawn")
    fingerprints: tuple[bytes, ...] = ()
    if channel == "sms":
        fingerprints = tuple(keys.contact_fingerprints(address))
        if await number_opted_out(con, list(fingerprints)):
            return Reach(why="number_opted_out")
    return Reach(address=address, fingerprints=fingerprints)
