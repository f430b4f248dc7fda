"""Free text in the read model, sealed with the participant's data key (DESIGN §6).

Case managers' reasons, coaches' task notes and the texts of milestone payloads (employer,
contract, qualification, coach reference, reasons) say things about a person. They are sealed
under that person's data key (`readmodel.persons`), so erasing the person shreds them with the rest,
and unsealed only for readers the API lets see them; once the person is erased a reader sees
`ERASED` in their place. What the programme counts stays in clear: a payload's codes, the names
of the text fields given, a phase change's code.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

import structlog

from infra.codec import seal, unseal
from infra.database import Connection
from infra.person_keys import PersonKeys
from readmodel.persons import key_context
from trajectory.milestones import PAYLOADS
from trajectory.text import VISIBLE_TEXT_PATTERN

log = structlog.stdlib.get_logger(__name__)

ERASED = "[erased]"
"""What a reader sees in place of free text once the person is erased."""

CATALOGUE_CODES = frozenset({"course_id"})
"""Text fields that hold an id checked against a catalogue, not words about a person."""


def _is_free_text(schema: Mapping[str, Any]) -> bool:
    """A string the sender chose freely: no enum, const, format or pattern narrows it (but the
    one that only keeps control characters out of every free text)."""
    return any(
        option.get("type") == "string"
        and option.get("pattern", VISIBLE_TEXT_PATTERN) == VISIBLE_TEXT_PATTERN
        and not {"enum", "const", "format"} & set(option)
        for option in schema.get("anyOf", [schema])
    )


TEXT_FIELDS: frozenset[str] = (
    frozenset(
        name
        for model in PAYLOADS.values()
        for name, schema in model.model_json_schema()["properties"].items()
        if _is_free_text(schema)
    )
    - CATALOGUE_CODES
)
"""Payload fields sealed in the read model, derived from the payload models: a new free-text
field is sealed without anyone listing it."""


def split_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A milestone payload as (what stays in clear, the free text to seal)."""
    clear = {name: value for name, value in payload.items() if name not in TEXT_FIELDS}
    texts = {name: str(value) for name, value in payload.items() if name in TEXT_FIELDS}
    return clear, texts


class Sealer:
    """Seals and unseals one participant's free text; `key` is None once they are erased."""

    def __init__(self, participant_id: str, key: bytes | None) -> None:
        self.participant_id = participant_id
        self._key = key

    @property
    def erased(self) -> bool:
        return self._key is None

    def _context(self, where: str) -> bytes:
        """Associated data: a ciphertext opens only for its participant and its place."""
        return f"parcours/text/{self.participant_id}/{where}".encode()

    def seal(self, where: str, text: str | None) -> bytes | None:
        """`text` sealed for `where` (e.g. `steering/3`); None for no text, or no key to seal
        it with (an erased person: the text is dropped, never stored in clear)."""
        if text is None or self._key is None:
            return None
        return seal(self._key, text.encode(), self._context(where))

    def unseal(self, where: str, sealed: bytes | None) -> str | None:
        """The text sealed for `where`; `ERASED` once the person is erased."""
        if sealed is None:
            return None
        if self._key is None:
            return ERASED
        return unseal(self._key, sealed, self._context(where)).decode()

    def seal_fields(self, where: str, texts: Mapping[str, str]) -> bytes | None:
        """Several texts sealed together (a payload's)."""
        return self.seal(where, json.dumps(dict(texts), sort_keys=True)) if texts else None

    def unseal_fields(
        self, where: str, sealed: bytes | None, names: Iterable[str]
    ) -> dict[str, str]:
        """The texts `seal_fields` sealed; each of `names` is `ERASED` once the person is."""
        if self._key is None:
            return dict.fromkeys(names, ERASED)
        if sealed is None:
            return {}
        texts: dict[str, str] = json.loads(self.unseal(where, sealed) or "{}")
        return texts


_KEYS = """
SELECT participant_id, keyring, master_key_id, wrapped_key FROM person_keys
WHERE participant_id = ANY($1::text[]) AND erased_at IS NULL
"""


async def sealers(
    con: Connection, participant_ids: Iterable[str], keys: PersonKeys
) -> dict[str, Sealer]:
    """A sealer for each participant, in one query; keyless for those erased (or unknown)."""
    wanted = sorted(set(participant_ids))
    if not wanted:
        return {}
    found = {
        row["participant_id"]: keys.unwrap(
            row["keyring"],
            row["master_key_id"],
            row["wrapped_key"],
            key_context(row["participant_id"]),
        )
        for row in await con.fetch(_KEYS, wanted)
    }
    return {pid: Sealer(pid, found.get(pid)) for pid in wanted}


async def sealer(con: Connection, participant_id: str, keys: PersonKeys) -> Sealer:
    """The participant's sealer; keyless once they are erased."""
    return (await sealers(con, [participant_id], keys))[participant_id]
