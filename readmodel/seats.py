"""Training seats in PostgreSQL: the catalogue, seat decisions and waiting lists.

Every seat decision locks the course row, so concurrent requests queue up behind each other:
held seats (seated or offered) never exceed the course's seats, and the rest wait in order.
The next in line is chosen among those the read model does not know as closed; it may lag the
workflows, so the trajectory offered a seat it cannot take lets the offer lapse at once and the
seat goes on to the next.
"""

from temporalio.exceptions import ApplicationError

from infra.database import Connection, Pool
from trajectory.catalogue import COURSE_FULL, UNKNOWN_COURSE, Recommendation, load_catalogue
from trajectory.records import SeatDecision, SeatOffer, SeatRelease, SeatRequest

_UPSERT_COURSE = """
INSERT INTO courses (
    course_id, catalogue_version, provider, title, domain, sector, occupation,
    bottleneck_occupation, language, min_language_level, min_digital_level, seats,
    starts_on, ends_on, location, selection
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (course_id) DO UPDATE SET
    catalogue_version = EXCLUDED.catalogue_version, provider = EXCLUDED.provider,
    title = EXCLUDED.title, domain = EXCLUDED.domain, sector = EXCLUDED.sector,
    occupation = EXCLUDED.occupation, bottleneck_occupation = EXCLUDED.bottleneck_occupation,
    language = EXCLUDED.language, min_language_level = EXCLUDED.min_language_level,
    min_digital_level = EXCLUDED.min_digital_level, seats = EXCLUDED.seats,
    starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, location = EXCLUDED.location,
    selection = EXCLUDED.selection
WHERE courses.catalogue_version <= EXCLUDED.catalogue_version
"""

_HELD = "status IN ('seated', 'offered')"
_ENDED = ("expired", "dropped", "completed")

_STATUS = "SELECT status FROM seat_requests WHERE course_id = $1 AND participant_id = $2"
_REQUESTED_BY = (
    "SELECT requested_by FROM seat_requests WHERE course_id = $1 AND participant_id = $2"
)
_FORGET = "DELETE FROM seat_requests WHERE course_id = $1 AND participant_id = $2"
_HELD_COUNT = f"SELECT count(*) FROM seat_requests WHERE course_id = $1 AND {_HELD}"
_QUEUE = """
INSERT INTO seat_requests (course_id, participant_id, status, requested_at, requested_by)
VALUES ($1, $2, $3, $4, $5)
"""
_SEAT = """
UPDATE seat_requests SET status = 'seated', seated_at = coalesce(seated_at, $3)
WHERE course_id = $1 AND participant_id = $2
"""

_POSITION = """
SELECT count(*) FROM seat_requests
WHERE course_id = $1 AND status = 'waiting'
  AND queue_no <= (SELECT queue_no FROM seat_requests WHERE course_id = $1 AND participant_id = $2)
"""

_NEXT_IN_LINE = """
SELECT s.participant_id FROM seat_requests s
LEFT JOIN trajectories t USING (participant_id)
WHERE s.course_id = $1 AND s.status = 'waiting' AND coalesce(t.status, 'active') <> 'closed'
ORDER BY s.queue_no
LIMIT 1
"""


async def store_catalogue(pool: Pool) -> int:
    """Load the packaged catalogue into PostgreSQL (a newer version replaces an older one)."""
    catalogue = load_catalogue()
    async with pool.acquire() as con, con.transaction():
        await con.executemany(
            _UPSERT_COURSE,
            [
                (
                    c.course_id,
                    catalogue.version,
                    c.provider,
                    c.title,
                    c.domain,
                    c.sector,
                    c.occupation,
                    c.bottleneck_occupation,
                    c.language,
                    c.min_language_level,
                    c.min_digital_level,
                    c.seats,
                    c.starts_on,
                    c.ends_on,
                    c.location,
                    c.selection,
                )
                for c in catalogue.courses
            ],
        )
    return len(catalogue.courses)


async def _lock_course(con: Connection, course_id: str) -> tuple[int, bool]:
    """The course's seats and whether it selects its trainees, its row locked."""
    row = await con.fetchrow(
        "SELECT seats, selection FROM courses WHERE course_id = $1 FOR UPDATE", course_id
    )
    if row is None:
        raise ApplicationError(
            f"there is no course {course_id} in the catalogue",
            type=UNKNOWN_COURSE,
            non_retryable=True,
        )
    return row["seats"], row["selection"]


async def request_seat(con: Connection, request: SeatRequest) -> SeatDecision:
    """A seat when one is free (or was offered to this participant), else a place in line; on
    a course that selects its trainees, an application, and a seat once the provider selected
    the applicant (while seats last: a seat is never given twice).

    `new_hold` says whether this request (its milestone, retried or not) made the hold: only
    then may a refusal of that milestone give it up.
    """
    seats, selection = await _lock_course(con, request.course_id)
    key = (request.course_id, request.participant_id)
    status = await con.fetchval(_STATUS, *key)
    if status in _ENDED:
        await con.execute(_FORGET, *key)
        status = None
    held = await con.fetchval(_HELD_COUNT, request.course_id)
    if status is None:
        free = "seated" if held < seats else "waiting"
        status = "applied" if selection else free
        await con.execute(_QUEUE, *key, status, request.at, request.milestone_id)
    if status == "applied" and request.selected:
        if held >= seats:
            raise ApplicationError(
                f"all {seats} seats of {request.course_id} are taken; the selection is over",
                type=COURSE_FULL,
                non_retryable=True,
            )
        status = "seated"
    new_hold = await con.fetchval(_REQUESTED_BY, *key) == request.milestone_id
    if status == "applied":
        return SeatDecision(
            course_id=request.course_id, granted=False, applied=True, new_hold=new_hold
        )
    if status == "waiting":
        position = await con.fetchval(_POSITION, *key)
        return SeatDecision(
            course_id=request.course_id, granted=False, position=position, new_hold=new_hold
        )
    await con.execute(_SEAT, *key, request.at)
    return SeatDecision(course_id=request.course_id, granted=True, new_hold=new_hold)


async def release_seat(con: Connection, release: SeatRelease) -> SeatOffer | None:
    """Hand a seat back; the next in line who is still in the programme is offered it (a
    course that selects has no line: its provider selects another applicant)."""
    await _lock_course(con, release.course_id)
    previous = await con.fetchval(_STATUS, release.course_id, release.participant_id)
    if previous in ("waiting", "applied"):  # leaves the line: nothing to hand on
        await con.execute(
            "UPDATE seat_requests SET status = 'expired', ended_at = $3"
            " WHERE course_id = $1 AND participant_id = $2",
            release.course_id,
            release.participant_id,
            release.at,
        )
        return None
    if previous not in ("seated", "offered"):
        return await _earlier_offer(con, release)
    await con.execute(
        "UPDATE seat_requests SET status = $3, ended_at = $4, qualified = $5"
        " WHERE course_id = $1 AND participant_id = $2",
        release.course_id,
        release.participant_id,
        release.outcome,
        release.at,
        release.qualification is not None,  # the words stay in the sealed milestone
    )
    following = await con.fetchval(_NEXT_IN_LINE, release.course_id)
    if following is None:
        return None
    await con.execute(
        "UPDATE seat_requests SET status = 'offered', offered_until = $3, freed_by = $4"
        " WHERE course_id = $1 AND participant_id = $2",
        release.course_id,
        following,
        release.offer_until,
        release.participant_id,
    )
    return SeatOffer(
        participant_id=following, course_id=release.course_id, offered_until=release.offer_until
    )


async def _earlier_offer(con: Connection, release: SeatRelease) -> SeatOffer | None:
    """A retried release: the offer the first attempt made, if it is still open."""
    row = await con.fetchrow(
        "SELECT participant_id, offered_until FROM seat_requests"
        " WHERE course_id = $1 AND freed_by = $2 AND status = 'offered'",
        release.course_id,
        release.participant_id,
    )
    if row is None:
        return None
    return SeatOffer(
        participant_id=row["participant_id"],
        course_id=release.course_id,
        offered_until=row["offered_until"],
    )


async def seats_left(con: Connection) -> dict[str, int]:
    """Seats not held, per course."""
    rows = await con.fetch(
        "SELECT c.course_id, c.seats - count(s.participant_id) AS left"
        " FROM courses c LEFT JOIN seat_requests s"
        f"   ON s.course_id = c.course_id AND s.{_HELD}"
        " GROUP BY c.course_id"
    )
    return {row["course_id"]: row["left"] for row in rows}


async def store_recommendations(
    con: Connection, participant_id: str, ranked: list[Recommendation]
) -> None:
    """Replace the participant's ranking."""
    await con.execute("DELETE FROM recommendations WHERE participant_id = $1", participant_id)
    await con.executemany(
        "INSERT INTO recommendations (participant_id, rank, course_id, reasons)"
        " VALUES ($1, $2, $3, $4)",
        [(participant_id, r.rank, r.course_id, r.reasons) for r in ranked],
    )
