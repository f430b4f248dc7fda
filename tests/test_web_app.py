"""The web app without a browser (DESIGN §8.2): logging in and out, sessions that end, CSRF,
another partner's participant, what each role sees of a person, and forms that go through the
API's own Updates. The browser scenarios are in `tests/test_web_app_browser.py`."""

import asyncio
import re
import secrets
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.contract import workflow_id
from infra.database import Pool
from infra.settings import Settings
from readmodel.api_keys import create_key, revoke_key
from tests.api_fixtures import EnrolByApi, Keys, bearer, enrolment_body, listed
from tests.web_pages import csrf_token, web_user
from trajectory.actors import Role
from trajectory.phases import Status
from workflows.trajectory import ParticipantTrajectory

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
"""An inline script or an event handler inside a tag (escaped text that reads `onerror=`, such as
a hostile name another test enrolled, is not one)."""


async def _state(api: httpx.AsyncClient, keys: Keys, participant_id: str) -> dict[str, object]:
    answer = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.case_manager))
    assert answer.status_code == 200, answer.text
    state: dict[str, object] = answer.json()
    return state


async def _eligible(api: httpx.AsyncClient, keys: Keys, participant_id: str) -> None:
    """Wait until the intake check let the participant report milestones."""
    for _ in range(200):
        if (await _state(api, keys, participant_id))["next_steps"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the intake check never finished")


async def test_a_coach_logs_in_with_a_key_into_an_httponly_samesite_strict_session(
    api_app: FastAPI, keys: Keys
) -> None:
    async with web_user(api_app) as coach:
        answer = await coach.log_in(keys.jes, "Amina")

        assert answer.status_code == 303 and answer.headers["location"] == "/app/"
        cookie = next(
            value
            for name, value in answer.headers.multi_items()
            if name == "set-cookie" and value.startswith("parcours_session=")
        ).lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/app" in cookie
        assert "secure" not in cookie, "plain http works in development"
        caseload = await coach.get("/app/")
        assert caseload.status_code == 200
        assert "Amina" in caseload.text and "coach" in caseload.text


async def test_outside_development_the_session_cookie_is_secure(
    dev_env: WorkflowEnvironment, pool: Pool, keys: Keys
) -> None:
    settings = Settings(
        PARCOURS_ENV="production",
        DATABASE_URL="postgresql://unused/parcours",
        PARCOURS_CODEC_KEYS="k1:" + "A" * 43 + "=",
        PARCOURS_PERSON_KEYS="p1:" + "A" * 43 + "=",
        TEMPORAL_NAMESPACE=dev_env.client.namespace,
    )
    app = create_app(settings)
    hold(app, dev_env.client, pool, settings)
    async with web_user(app, scheme="https") as coach:
        answer = await coach.log_in(keys.jes)
    cookies = [value for name, value in answer.headers.multi_items() if name == "set-cookie"]
    assert any(c.startswith("parcours_session=") and "Secure" in c for c in cookies), cookies


async def test_a_backend_key_and_an_unknown_key_do_not_open_a_session(
    api_app: FastAPI, keys: Keys
) -> None:
    async with web_user(api_app) as someone:
        backend = await someone.log_in(keys.backend)
        unknown = await someone.log_in(f"prc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}")
        after = await someone.get("/app/")

    assert backend.status_code == 403 and "backend service" in backend.text
    assert unknown.status_code == 401 and "unknown or was revoked" in unknown.text
    assert after.status_code == 303 and after.headers["location"].startswith("/app/login")


async def test_the_login_form_posted_without_its_token_answers_403(
    api_app: FastAPI, keys: Keys
) -> None:
    async with web_user(api_app) as someone:
        await someone.get("/app/login")
        answer = await someone.client.post("/app/login", data={"key": keys.jes})
        after = await someone.get("/app/")

    assert answer.status_code == 403
    assert after.status_code == 303, "no session was opened"


async def test_logging_out_ends_the_session_on_the_server(api_app: FastAPI, keys: Keys) -> None:
    async with web_user(api_app, keys.jes) as coach:
        token = coach.client.cookies["parcours_session"]
        out = await coach.post_from("/app/", "/app/logout", {})
        assert out.status_code == 303 and out.headers["location"] == "/app/login"
        coach.client.cookies.set("parcours_session", token, path="/app")  # the old cookie, kept
        again = await coach.get("/app/")

    assert again.status_code == 303 and again.headers["location"].startswith("/app/login")


async def test_a_session_ends_after_its_idle_time_and_when_its_key_is_revoked(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    settings = Settings(
        temporal_namespace=dev_env.client.namespace,
        key_cache_seconds=0,
        web_session_idle_minutes=1.5 / 60,
    )
    app = create_app(settings)
    hold(app, dev_env.client, pool, settings)
    key = await create_key(pool, Role.PARTNER, "jes", label="web expiry")
    async with web_user(app, key.key) as idle:
        for _ in range(3):  # each request within the idle time keeps the session
            await asyncio.sleep(0.7)
            assert (await idle.get("/app/")).status_code == 200
        await asyncio.sleep(1.8)
        assert (await idle.get("/app/")).status_code == 303
    async with web_user(app, key.key) as revoked:
        assert (await revoked.get("/app/")).status_code == 200
        await revoke_key(pool, key.record.key_id)
        assert (await revoked.get("/app/")).status_code == 303


async def test_a_session_ends_at_its_lifetime_however_busy(
    dev_env: WorkflowEnvironment, pool: Pool, keys: Keys
) -> None:
    settings = Settings(temporal_namespace=dev_env.client.namespace, web_session_hours=1.5 / 3600)
    app = create_app(settings)
    hold(app, dev_env.client, pool, settings)
    async with web_user(app, keys.jes) as busy:
        answers = []
        for _ in range(5):
            answers.append((await busy.get("/app/")).status_code)
            await asyncio.sleep(0.5)
    assert answers[0] == 200 and answers[-1] == 303, answers


async def test_another_partners_participant_answers_404_by_url_and_a_form_for_it_changes_nothing(
    api_app: FastAPI, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    theirs = await enrol_by_api("inbrussel")
    await _eligible(api, keys, theirs)
    before = await _state(api, keys, theirs)
    async with web_user(api_app, keys.jes) as coach:
        page = await coach.get(f"/app/participants/{theirs}")
        form = await coach.get(f"/app/participants/{theirs}/milestones/new?type=job_day_attended")
        token = csrf_token((await coach.get("/app/")).text)
        posted = await coach.client.post(
            f"/app/participants/{theirs}/milestones",
            data={
                "csrf_token": token,
                "type": "job_day_attended",
                "milestone_id": "web-other-partner",
                "occurred_at": "2026-03-02T10:00",
            },
        )

    assert (page.status_code, form.status_code, posted.status_code) == (404, 404, 404)
    assert "Testperson" not in page.text
    assert await _state(api, keys, theirs) == before


async def test_a_form_posted_without_its_token_answers_403_and_changes_nothing(
    api_app: FastAPI, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    await _eligible(api, keys, participant_id)
    before = await _state(api, keys, participant_id)
    page = f"/app/participants/{participant_id}"
    fields = {
        "type": "intake_interview_held",
        "milestone_id": "web-no-token",
        "occurred_at": "2026-03-02T10:00",
    }
    async with web_user(api_app, keys.case_manager) as manager:
        missing = await manager.post_from(page, f"{page}/milestones", fields, token=False)
        wrong = await manager.client.post(
            f"{page}/milestones", data={**fields, "csrf_token": "forged"}
        )
        pause = await manager.post_from(page, f"{page}/pause", {"reason": "x"}, token=False)

    assert (missing.status_code, wrong.status_code, pause.status_code) == (403, 403, 403)
    assert "security token" in missing.text
    assert await _state(api, keys, participant_id) == before


async def test_a_coach_sees_first_name_and_contact_never_the_national_number_each_view_a_read(
    api_app: FastAPI, api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    body = enrolment_body("jes")
    enrolled = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert enrolled.status_code == 201, enrolled.text
    participant_id = enrolled.json()["participant_id"]
    person = body["person"]
    await listed(pool, participant_id)
    reads = "SELECT count(*) FROM personal_data_reads WHERE participant_id = $1"
    before = await pool.fetchval(reads, participant_id)
    async with web_user(api_app, keys.jes, "Amina Coach") as coach:
        page = await coach.get(f"/app/participants/{participant_id}")
    async with web_user(api_app, keys.case_manager) as manager:
        managed = await manager.get(f"/app/participants/{participant_id}")

    assert page.status_code == 200
    assert person["given_name"] in page.text and person["phone"] in page.text
    assert person["email"] in page.text
    assert person["family_name"] not in page.text, "a coach sees the first name only"
    assert person["family_name"] in managed.text, "a case manager sees the family name"
    for shown in (page.text, managed.text):
        assert person["national_number"] not in shown and person["birth_date"] not in shown
    assert await pool.fetchval(reads, participant_id) == before + 2
    read = await pool.fetchrow(
        "SELECT purpose, actor_partner_id, actor_key_id, actor_user_id FROM personal_data_reads"
        " WHERE participant_id = $1 AND actor_role = 'partner' ORDER BY read_id DESC LIMIT 1",
        participant_id,
    )
    assert read is not None and dict(read) == {
        "purpose": "web app: participant",
        "actor_partner_id": "jes",
        "actor_key_id": keys.jes.split("_")[1],
        "actor_user_id": "Amina Coach",
    }


async def test_a_form_milestone_is_the_apis_update_with_the_sessions_user_a_refusal_says_why(
    api_app: FastAPI, api: httpx.AsyncClient, keys: Keys, pool: Pool, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    await _eligible(api, keys, participant_id)
    page = f"/app/participants/{participant_id}"
    now = datetime.now(UTC).astimezone().strftime("%Y-%m-%dT%H:%M")
    async with web_user(api_app, keys.jes, "Amina Coach") as coach:
        early = await coach.post_from(
            page,
            f"{page}/milestones",
            {"type": "coach_assigned", "milestone_id": "web-early", "occurred_at": now,
             "coach_ref": "coach-7"},
        )  # fmt: skip
        done = await coach.post_from(
            page,
            f"{page}/milestones",
            {"type": "intake_interview_held", "milestone_id": "web-intake", "occurred_at": now},
        )
        shown = await coach.get(done.headers["location"])

    assert early.status_code == 409 and "Not recorded:" in early.text
    assert "coach_assigned" in early.text or "coaching" in early.text
    assert done.status_code == 303
    assert shown.status_code == 200 and "Recorded." in shown.text
    state = await _state(api, keys, participant_id)
    assert state["milestone_count"] == 1
    actor = await pool.fetchrow(
        "SELECT actor_role, actor_partner_id, actor_key_id, actor_user_id FROM milestones"
        " WHERE participant_id = $1 AND milestone_id = 'web-intake'",
        participant_id,
    )
    assert actor is not None and dict(actor) == {
        "actor_role": "partner",
        "actor_partner_id": "jes",
        "actor_key_id": keys.jes.split("_")[1],
        "actor_user_id": "Amina Coach",
    }


async def test_every_response_has_a_content_security_policy_without_inline_scripts(
    api_app: FastAPI, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    await _eligible(api, keys, participant_id)
    async with web_user(api_app, keys.case_manager) as manager:
        answers = [
            await manager.get(path)
            for path in (
                "/app/login",
                "/app/",
                f"/app/participants/{participant_id}",
                f"/app/participants/{participant_id}/milestones/new?type=language_assessed",
                "/app/attention",
                "/app/report",
                "/app/static/app.css",
                "/app/participants/p-00000000000000000000",
                "/app/nowhere",
            )
        ]
    for answer in answers:
        policy = answer.headers.get("content-security-policy", "")
        assert "default-src 'none'" in policy, (answer.url, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        if answer.headers.get("content-type", "").startswith("text/html"):
            assert not INLINE_SCRIPT.search(answer.text), answer.url
    assert [answer.status_code for answer in answers[-2:]] == [404, 404]


async def test_pages_speak_french_dutch_and_english_and_remember_the_choice(
    api_app: FastAPI, keys: Keys
) -> None:
    async with web_user(api_app, keys.jes) as coach:
        dutch = await coach.get("/app/?lang=nl")
        still = await coach.get("/app/")
        english = await coach.get("/app/?lang=en")
    async with web_user(api_app) as browser:
        french = await browser.get("/app/login", headers={"Accept-Language": "fr-BE,fr;q=0.9"})

    assert '<html lang="nl">' in dutch.text and "Deelnemers per fase" in dutch.text
    assert '<html lang="nl">' in still.text
    assert '<html lang="en">' in english.text and "Participants per phase" in english.text
    assert '<html lang="fr">' in french.text and "Se connecter" in french.text


async def closed(env: WorkflowEnvironment, participant_id: str) -> None:
    """Wait until the trajectory is closed; its workflow runs on to the six-month check."""
    handle: WorkflowHandle[ParticipantTrajectory, object] = env.client.get_workflow_handle_for(
        ParticipantTrajectory.run, workflow_id(participant_id)
    )
    for _ in range(100):
        if (await handle.query(ParticipantTrajectory.snapshot)).status == Status.CLOSED:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{participant_id} never closed")


async def test_a_form_sent_again_after_its_milestone_closed_the_trajectory_says_recorded(
    api_app: FastAPI,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    dev_env: WorkflowEnvironment,
) -> None:
    """A double click, or the browser's back and send again, is the API's retried request."""
    participant_id = await enrol_by_api("jes")
    await _eligible(api, keys, participant_id)
    page = f"/app/participants/{participant_id}"
    now = datetime.now(UTC).astimezone().strftime("%Y-%m-%dT%H:%M")
    withdrawn = {"type": "withdrawn", "milestone_id": "web-bye", "occurred_at": now}
    async with web_user(api_app, keys.jes, "Amina Coach") as coach:
        first = await coach.post_from(page, f"{page}/milestones", withdrawn)
        assert first.status_code == 303, first.text
        left = await api.post(
            f"/v1/participants/{participant_id}/milestones",
            json={
                "milestone_id": "api-result",
                "type": "follow_up_contact",
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": {"in_employment": False, "job_searching": True},
            },
            headers=bearer(keys.jes),
        )
        assert left.status_code == 200, left.text
        await closed(dev_env, participant_id)
        again = await coach.post_from(page, f"{page}/milestones", withdrawn)
        changed = {**withdrawn, "reason": "moved"}
        other = await coach.post_from(page, f"{page}/milestones", changed)

    assert again.status_code == 303, again.text
    assert again.headers["location"] == f"{page}?done=recorded"
    assert other.status_code == 409
    assert f"milestone_id {withdrawn['milestone_id']} was recorded with other content" in other.text


async def test_the_report_page_leads_back_to_the_caseload_and_the_queue_in_the_users_language(
    api_app: FastAPI, keys: Keys
) -> None:
    async with web_user(api_app, keys.case_manager) as manager:
        report = await manager.get("/app/report?lang=fr")

    assert report.status_code == 200 and "<h1>Programme report</h1>" in report.text
    assert '<a href="/app/">Portefeuille</a>' in report.text
    assert '<a href="/app/attention">À traiter</a>' in report.text
