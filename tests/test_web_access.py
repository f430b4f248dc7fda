"""Who may open what in the web app: every route it serves (read from the app, so a new route
without a row fails) without a session, as a coach and as a case manager, and refusals that
change nothing. `tests/test_authorization_matrix.py` does the same for the API's keys."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from tests.api_fixtures import EnrolByApi, Keys, bearer
from tests.test_authorization_matrix import endpoints
from tests.web_pages import WebUser, csrf_token, web_user


@dataclass(frozen=True)
class Row:
    """`public`: anyone; else a session, `case_manager` for case managers only; `scoped`: about
    one participant, whom another partner's coach may not reach (404)."""

    path: Callable[[str], str]
    public: bool = False
    case_manager: bool = False
    scoped: bool = False


def on(suffix: str) -> Callable[[str], str]:
    return lambda participant_id: f"/app/participants/{participant_id}{suffix}"


ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/login"): Row(lambda _: "/app/login", public=True),
    ("POST", "/login"): Row(lambda _: "/app/login", public=True),
    ("GET", "/login/oidc"): Row(lambda _: "/app/login/oidc", public=True),
    ("GET", "/login/oidc/callback"): Row(lambda _: "/app/login/oidc/callback", public=True),
    ("POST", "/logout"): Row(lambda _: "/app/logout"),
    ("GET", "/"): Row(lambda _: "/app/"),
    ("GET", "/participants/{participant_id}"): Row(on(""), scoped=True),
    ("GET", "/participants/{participant_id}/milestones/new"): Row(
        on("/milestones/new?type=participant_contact"), scoped=True
    ),
    ("POST", "/participants/{participant_id}/milestones"): Row(on("/milestones"), scoped=True),
    ("POST", "/tasks/{task_id}/done"): Row(lambda p: f"/app/tasks/{p}.3/done", scoped=True),
    ("POST", "/participants/{participant_id}/pause"): Row(on("/pause"), case_manager=True),
    ("POST", "/participants/{participant_id}/resume"): Row(on("/resume"), case_manager=True),
    ("POST", "/participants/{participant_id}/reassign"): Row(on("/reassign"), case_manager=True),
    ("POST", "/participants/{participant_id}/close"): Row(on("/close"), case_manager=True),
    ("GET", "/attention"): Row(lambda _: "/app/attention", case_manager=True),
    ("GET", "/report"): Row(lambda _: "/app/report", case_manager=True),
}

FORM = {
    "type": "participant_contact",
    "milestone_id": "web-access",
    "occurred_at": "2026-03-02T10:00",
    "reached": "yes",
    "partner_id": "orientaeuro",
    "outcome": "withdrawn",
    "reason": "access check",
}


def web_routes(app: FastAPI) -> set[tuple[str, str]]:
    """The web app's routes, as the API's matrix reads an app's."""
    (mounted,) = [route for route in app.routes if isinstance(route, Mount)]
    assert isinstance(mounted.app, FastAPI)
    return endpoints(mounted.app)


def test_every_route_of_the_web_app_has_a_row(api_app: FastAPI) -> None:
    served = web_routes(api_app)
    assert served == set(ROWS), f"no row: {served - set(ROWS)}; no route: {set(ROWS) - served}"


async def _send(user: WebUser, method: str, path: str, token: str | None) -> httpx.Response:
    if method == "GET":
        return await user.get(path)
    return await user.client.post(path, data={**FORM, "csrf_token": token or ""})


async def _state(api: httpx.AsyncClient, keys: Keys, participant_id: str) -> Any:
    answer = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.case_manager))
    return answer.json()


@pytest.mark.parametrize(("method", "route"), sorted(ROWS), ids=str)
async def test_each_route_refuses_who_may_not_and_a_refusal_changes_nothing(
    api_app: FastAPI,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    method: str,
    route: str,
) -> None:
    row = ROWS[(method, route)]
    theirs = await enrol_by_api("inbrussel")
    before = await _state(api, keys, theirs)
    path = row.path(theirs)
    wrong = []
    async with (
        web_user(api_app) as nobody,
        web_user(api_app, keys.jes) as coach,
        web_user(api_app, keys.case_manager) as manager,
    ):
        coach_token = csrf_token((await coach.get("/app/")).text)
        manager_token = csrf_token((await manager.get("/app/")).text)
        answer = await _send(nobody, method, path, None)
        if not row.public and answer.status_code != (303 if method == "GET" else 403):
            wrong.append(f"no session: {answer.status_code}")
        if method == "POST" and not row.public:
            for who, user in (("coach", coach), ("case manager", manager)):
                answer = await _send(user, method, path, None)
                if answer.status_code != 403:
                    wrong.append(f"{who} without a CSRF token: {answer.status_code}")
        answer = await _send(coach, method, path, coach_token)
        if row.case_manager and answer.status_code != 403:
            wrong.append(f"coach on a case manager's page: {answer.status_code}")
        if row.scoped and answer.status_code != 404:
            wrong.append(f"coach on another partner's participant: {answer.status_code}")
        if method == "GET" and not row.public:
            answer = await _send(manager, method, path, manager_token)
            if answer.status_code != 200:
                wrong.append(f"case manager: {answer.status_code}")
    if await _state(api, keys, theirs) != before:
        wrong.append("a refusal changed the participant")
    assert not wrong, f"{method} {route}: {wrong}"
