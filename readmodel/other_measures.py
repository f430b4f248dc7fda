"""The PES registry of other support measures, queried at intake: by fingerprint, never by
national number (DESIGN 8.1: matching uses a keyed hash).

Rows are keyed by the number's fingerprint under the current person key. A rotation leaves older
rows matching as long as their key stays in `PARCOURS_PERSON_KEYS`; loading the registry again
moves them under the new key (the numbers themselves are not kept, so nothing else can).
"""

from datetime import date

import structlog

from infra.database import Connection
from infra.person_keys import PersonKeys, default_person_keys

log = structlog.stdlib.get_logger(__name__)

_REGISTER = """
INSERT INTO other_measures (fingerprint, key_id, measure, started_on, ended_on)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (fingerprint, measure) WHERE fingerprint IS NOT NULL
DO UPDATE SET started_on = EXCLUDED.started_on, ended_on = EXCLUDED.ended_on
"""

_IN_OTHER_MEASURE = """
SELECT EXISTS (
    SELECT 1 FROM other_measures
    WHERE fingerprint = ANY($1::bytea[]) AND (ended_on IS NULL OR ended_on >= $2)
)
"""

_CLEAR_ROWS = """
SELECT national_number, measure FROM other_measures
WHERE national_number IS NOT NULL
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

_FINGERPRINT_ROW = """
UPDATE other_measures SET fingerprint = $3, key_id = $4, national_number = NULL
WHERE national_number = $1 AND measure = $2
"""

_BATCH = 500


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


async def fingerprint_clear_registry(con: Connection, *, keys: PersonKeys | None = None) -> int:
    """Replace the numbers still in clear (loaded before migration 010) by fingerprints."""
    keys = default_person_keys(keys)
    done = 0
    while True:
        async with con.transaction():
            rows = await con.fetch(_CLEAR_ROWS, _BATCH)
            await con.executemany(
                _FINGERPRINT_ROW,
                [
                    (
                        row["national_number"],
                        row["measure"],
                        keys.fingerprint(row["national_number"]),
                        keys.current,
                    )
                    for row in rows
                ],
            )
        done += len(rows)
        if len(rows) < _BATCH:
            break
    if done:
        log.info("other_measures_fingerprinted", count=done)
    return done
