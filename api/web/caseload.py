"""The caseload: a coach's own participants (a case manager's: everyone's), open tasks first,
then by next deadline, with filters and the count per phase (DESIGN §8.2)."""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import PersonKeysDep, PoolDep, SettingsDep
from api.web.pages import render
from api.web.people import VisiblePerson, visible_people
from api.web.sessions import SessionDep
from readmodel.caseload import OPEN, CaseloadFilter, caseload, phase_counts
from trajectory.phases import Phase, Status
from trajectory.programmes import PARTNER_IDS
from trajectory.records import TrajectorySnapshot

router = APIRouter()

PAGE_SIZE = 50
NUDGE_LEVELS = range(0, 6)
MAX_SILENT_DAYS = 3650


@dataclass(frozen=True)
class Filters:
    """The caseload's filters as the form sent them (strings), checked."""

    phase: str = ""
    status: str = OPEN
    nudge: str = ""
    silent: str = ""
    partner: str = ""

    @classmethod
    def of(cls, request: Request) -> "Filters":
        query = request.query_params
        return cls(
            phase=_one_of(query.get("phase", ""), [phase.value for phase in Phase]),
            status=_one_of(query.get("status", OPEN), [OPEN, *(s.value for s in Status)]),
            nudge=_one_of(query.get("nudge", ""), [str(level) for level in NUDGE_LEVELS]),
            silent=_days(query.get("silent", "")),
            partner=_one_of(query.get("partner", ""), list(PARTNER_IDS)),
        )

    def page_link(self, page: int) -> str:
        """The caseload's page `page` under the same filters."""
        kept = {name: value for name, value in asdict(self).items() if value}
        return f"?{urlencode({**kept, 'page': page})}"

    def wanted(self, partner_id: str | None, now: datetime, day: timedelta) -> CaseloadFilter:
        return CaseloadFilter(
            partner_id=partner_id or self.partner or None,
            phase=Phase(self.phase) if self.phase else None,
            status=self.status or None,
            nudge_level=int(self.nudge) if self.nudge else None,
            silent_since=now - day * int(self.silent) if self.silent else None,
        )


def _one_of(value: str, allowed: list[str]) -> str:
    return value if value in allowed else ""


def _days(value: str) -> str:
    value = value.strip()
    return value if value.isdigit() and int(value) <= MAX_SILENT_DAYS else ""


@dataclass(frozen=True)
class Row:
    """One participant in the caseload."""

    state: TrajectorySnapshot
    person: VisiblePerson | None
    silent_days: int


@router.get("/")
async def show_caseload(
    request: Request,
    session: SessionDep,
    pool: PoolDep,
    settings: SettingsDep,
    keys: PersonKeysDep,
) -> Response:
    """A coach's participants; a case manager's, of every partner (or of the one filtered)."""
    filters = Filters.of(request)
    asked_page = request.query_params.get("page", "")
    page = max(int(asked_page), 1) if asked_page.isdigit() and len(asked_page) < 6 else 1
    now = datetime.now(UTC)
    day = timedelta(seconds=settings.seconds_per_day)
    own = session.caller.partner_id
    states = await caseload(
        pool,
        filters.wanted(own, now, day),
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    shown = states[:PAGE_SIZE]
    people = await visible_people(
        pool, [state.participant_id for state in shown], session, "web app: caseload", keys
    )
    rows = [
        Row(
            state=state,
            person=people.get(state.participant_id),
            silent_days=max(0, int((now - state.last_contact_at) / day)),
        )
        for state in shown
    ]
    return render(
        request,
        "caseload.html",
        session,
        rows=rows,
        counts=await phase_counts(pool, own or filters.partner or None),
        filters=filters,
        phases=list(Phase),
        statuses=[OPEN, *Status],
        nudge_levels=NUDGE_LEVELS,
        partners=PARTNER_IDS,
        page=page,
        more=len(states) > PAGE_SIZE,
    )
