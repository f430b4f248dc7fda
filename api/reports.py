"""Programme reports for backend services and case managers (DESIGN §5, §8, §9).

JSON holds every table of the report; `?format=csv` answers one table as CSV, the funnel unless
`?table=` names another (the same files `python -m starter report` writes). `?from=` and `?to=`
limit every figure to a period (`docs/reports.md` says how each figure counts in it).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import PoolDep, SettingsDep, current_caller, require
from api.errors import ApiError, ErrorPublic
from readmodel import reports
from reporting.tables import table_csv
from trajectory.actors import Role
from trajectory.programme_report import TABLES, ProgrammeReport, Table
from trajectory.text import IsoDate

router = APIRouter(
    prefix="/v1/reports",
    tags=["reports"],
    dependencies=[Depends(current_caller), Depends(require(Role.BACKEND, Role.CASE_MANAGER))],
    responses={
        401: {"model": ErrorPublic, "description": "no API key, or an unknown or revoked one"},
        403: {"model": ErrorPublic, "description": "partners do not read programme reports"},
        429: {
            "model": ErrorPublic,
            "description": "too many unknown or revoked keys from this address; see Retry-After",
        },
        422: {
            "model": ErrorPublic,
            "description": "unknown format or table, a malformed date, or `from` after `to`",
        },
    },
)

_CSV_EXAMPLE = (
    "partner_id,stage,participants,enrolled,share_of_enrolled\r\n"
    "jes,enrolled,12,12,1.0\r\n"
    "jes,assessed,9,12,0.75\r\n"
)


@router.get(
    "/programme",
    response_model=ProgrammeReport,
    summary="The programme report (JSON, or one table as CSV with ?format=csv)",
    responses={200: {"content": {"text/csv": {"example": _CSV_EXAMPLE}}}},
)
async def programme_report(
    pool: PoolDep,
    settings: SettingsDep,
    report_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    table: Annotated[
        Table, Query(description=f"the table to answer as CSV: {', '.join(TABLES)}")
    ] = "funnel",
    period_from: Annotated[
        IsoDate | None, Query(alias="from", description="first day counted (YYYY-MM-DD, Brussels)")
    ] = None,
    period_to: Annotated[
        IsoDate | None, Query(alias="to", description="last day counted (YYYY-MM-DD, Brussels)")
    ] = None,
) -> ProgrammeReport | Response:
    """Funnel, phases, outcomes, time to offer, training, nudge effect and ESF+ indicators."""
    if period_from is not None and period_to is not None and period_from > period_to:
        raise ApiError(422, "invalid_request", "from: the period starts after it ends (to)")
    async with pool.acquire() as con:
        report = await reports.programme_report(
            con,
            day_seconds=settings.seconds_per_day,
            period_from=period_from,
            period_to=period_to,
        )
    if report_format == "csv":
        return Response(
            table_csv(report, table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="programme-{table}.csv"'},
        )
    return report
