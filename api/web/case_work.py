"""Case managers' pages: the trajectories that wait for them, and the programme report."""

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import PersonKeysDep, PoolDep, SettingsDep
from api.web.pages import render, translator
from api.web.people import visible_people
from api.web.sessions import CaseManagerDep
from readmodel import reports
from readmodel.trajectories import list_snapshots
from reporting.page import report_html
from trajectory.phases import Outcome, Status

router = APIRouter()

QUEUE_SIZE = 200
"""Trajectories the queue shows at once, in participant order; acting on them shows the next."""

_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@router.get("/attention")
async def needs_attention(
    request: Request, session: CaseManagerDep, pool: PoolDep, keys: PersonKeysDep
) -> Response:
    """Every trajectory waiting for a case manager, with the engine's reason and the way on:
    resume (the failed step is tried again) or close."""
    waiting = await list_snapshots(
        pool,
        partner_id=None,
        phase=None,
        status=Status.NEEDS_ATTENTION,
        after=None,
        limit=QUEUE_SIZE,
    )
    people = await visible_people(
        pool, [state.participant_id for state in waiting], session, "web app: attention", keys
    )
    done = request.query_params.get("done", "")
    return render(
        request,
        "attention.html",
        session,
        waiting=waiting,
        people=people,
        outcomes=list(Outcome),
        done=done if done in ("resume", "close") else "",
    )


@router.get("/report")
async def programme_report(
    request: Request, _: CaseManagerDep, pool: PoolDep, settings: SettingsDep
) -> Response:
    """The programme report's page (`python -m starter report`) with the app's menu on top: its
    one inline style is allowed by its hash, its plots are images inside it."""
    async with pool.acquire() as con:
        report = await reports.programme_report(con, day_seconds=settings.seconds_per_day)
    t = translator(request)
    page = report_html(
        report, menu=[("/app/", t("nav.caseload")), ("/app/attention", t("nav.attention"))]
    )
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
        for style in _STYLE.findall(page)
    )
    policy = (
        f"default-src 'none'; style-src {hashes}; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})
