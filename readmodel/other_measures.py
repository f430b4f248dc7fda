"""The PES registry of other support measures, queried at intake: by fingerprint, never by
national number (DESIGN 8.1: matching uses a keyed hash).

Rows are keyed by the number's fingerprint under the current person key. A rotation leaves older
rows matching as long as their key stays in `PARCOURS_PERSON_KEYS`; loading the registry again
moves them under the new key (the numbers themselves are not kept, so nothing else can).
"""

from datetime import date

from infra.database import Connection
from infra.person_keys import PersonKeys, default_person_keys

_REGISTER = """
INSERT INTO other_measures (fingerprint, key_id, measure, started_on, ended_on)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (fingerprint, measure)
DO UPDATE SET started_on = EXCLUDED.started_on, ended_on = EXCLUDED.ended_on
"""

_IN_OTHER_MEASURE = """
SELECT EXISTS (
    SELECT 1 FROM other_measures
    WHERE fingerprint = ANY($1::bytea[]) AND (ended_on IS NULL OR ended_on >= $2)
)
"""


async def register_other_measure(
    con: Connection,
    national_number: str,
    measure: str,
    started_on: date,
    ended_on: date | None = None,
    *,
    keys: PersonKeys | None = None,
) -> None:
    """Record (or update) that the person follows `measure`, under their fingerprint."""
    keys = default_person_keys(keys)
    await con.execute(
        _REGISTER, keys.fingerprint(national_number), keys.current, measure, started_on, ended_on
    )


async def in_other_measure(
    con: Connection, national_number: str, on: date, *, keys: PersonKeys | None = None
) -> bool:
    """Whether the registry has the person in another support measure on `on`."""
    found: bool = await con.fetchval(
        _IN_OTHER_MEASURE, default_person_keys(keys).fingerprints(national_number), on
    )
    return found
