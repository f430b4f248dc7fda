"""Coaches and case managers at the web app in a real browser (Debian's chromium driven by
Playwright), on a dev server, a worker and the API served by uvicorn, with a database of this
module's own so a caseload holds only the people enrolled here.

A programme day lasts `DAY` seconds, so silence runs up the ladder while the tests go on. Every
page is checked with axe-core (the copy bundled in the `axe-playwright-python` package: nothing
downloads) and saved as a screenshot under `tests/artifacts/web-app-*.png`; `docs/images/`
holds the ones the guides show.
"""

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.trajectory import TrajectoryActivities
from api.app import create_app, hold
from api.enrolment import enrol
from infra.contract import workflow_id
from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel import migrate
from readmodel.api_keys import create_key
from readmodel.seats import store_catalogue
from tests.api_fixtures import bearer
from tests.people import enrolment
from tests.serving import uvicorn_serving
from tests.temporal_fixtures import dev_server
from tests.test_web_ui_browser import CHROMIUM, CHROMIUM_ARGS
from trajectory.actors import Role
from trajectory.delivery import NudgeOutcome
from trajectory.phases import Phase, Status
from trajectory.records import NudgeRequest, TrajectorySnapshot
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

DAY = 2.0
"""Seconds per programme day: a JES participant silent since intake gets the coach call after
17 days, 34 s."""
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
SERIOUS = ("serious", "critical")
WAIT_MS = 15_000
COACH_NAME = "Amina Peeters"
CASE_MANAGER_NAME = "Chloé Dubois"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FailingOnce:
    """`send_nudge` that fails for good, once, for the participants in `targets`: their
    trajectories wait for a case manager."""

    def __init__(self, real: TrajectoryActivities) -> None:
        self._real = real
        self.targets: set[str] = set()

    @activity.defn(name="send_nudge")
    async def send_nudge(self, request: NudgeRequest) -> NudgeOutcome:
        if request.participant_id in self.targets:
            self.targets.discard(request.participant_id)
            raise asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")
        return await self._real.send_nudge(request)


@dataclass(frozen=True)
class Stack:
    """The web app at `url`, and who was enrolled for which scenario."""

    url: str
    env: WorkflowEnvironment
    pool: Pool
    keys: dict[str, str]
    silent: str
    """Enrolled a day before everyone else, and never heard of again."""
    contacted: str
    steps: str
    waiting: str
    """Its first nudge fails for good: it waits for a case manager."""
    moving: str
    theirs: str
    """InBrussel's."""

    def handle(self, participant_id: str) -> WorkflowHandle[ParticipantTrajectory, Any]:
        return self.env.client.get_workflow_handle_for(
            ParticipantTrajectory.run, workflow_id(participant_id)
        )

    async def snapshot(self, participant_id: str) -> TrajectorySnapshot:
        return await self.handle(participant_id).query(ParticipantTrajectory.snapshot)

    async def until(
        self, participant_id: str, test: Callable[[TrajectorySnapshot], bool], what: str
    ) -> TrajectorySnapshot:
        for _ in range(400):
            snapshot = await self.snapshot(participant_id)
            if test(snapshot):
                return snapshot
            await asyncio.sleep(0.25)
        raise AssertionError(f"{participant_id} never reached {what}")


@asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[str]:
    """`app` under uvicorn on a free port; the test gave it its clients (no lifespan)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=_free_port(), log_config=None, lifespan="off"
    )
    async with uvicorn_serving(config) as url:
        yield url


@pytest.fixture(scope="module")
async def own_pool(database_url: str) -> AsyncIterator[Pool]:
    """A fresh database of this module's own on the session's server."""
    parts = urlsplit(database_url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_webapp"
    server = await asyncpg.connect(database_url)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    pool = await open_pool(Settings(database_url=urlunsplit(parts._replace(path=f"/{name}"))))
    await migrate(pool)
    await store_catalogue(pool)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="module")
async def stack(own_pool: Pool) -> AsyncIterator[Stack]:
    pool = own_pool
    async with dev_server() as env:
        failing = FailingOnce(TrajectoryActivities(pool))
        settings = Settings(
            temporal_namespace=env.client.namespace,
            seconds_per_day=DAY,
            key_cache_seconds=0,
            auth_failures=1_000_000,
        )
        app = create_app(settings)
        hold(app, env.client, pool, settings)

        async def enrolled(partner_id: str) -> str:
            done = await enrol(env.client, pool, enrolment(partner_id), day_seconds=DAY)
            return done.participant_id

        async with (
            build_worker(env.client, pool, stand_ins=[failing.send_nudge]),
            _served(app) as url,
        ):
            silent = await enrolled("jes")
            await asyncio.sleep(DAY)
            waiting = await enrolled("jes")
            failing.targets.add(waiting)
            keys = {
                "jes": (await create_key(pool, Role.PARTNER, "jes", label="coach")).key,
                "inbrussel": (await create_key(pool, Role.PARTNER, "inbrussel", label="ib")).key,
                "case_manager": (await create_key(pool, Role.CASE_MANAGER, label="cm")).key,
                "backend": (await create_key(pool, Role.BACKEND, label="pes")).key,
            }
            yield Stack(
                url=url,
                env=env,
                pool=pool,
                keys=keys,
                silent=silent,
                contacted=await enrolled("jes"),
                steps=await enrolled("jes"),
                waiting=waiting,
                moving=await enrolled("jes"),
                theirs=await enrolled("inbrussel"),
            )


# -- the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's package: apt-get install -y chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def person(browser: Browser, language: str = "en") -> AsyncIterator[Page]:
    """A browser window of one person's own (cookies apart) that prefers `language`."""
    context = await browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page (WCAG 2.1 AA and more)."""
    await page.evaluate(AXE)
    results = await page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice'], resultTypes: ['violations']})"
    )
    found = [
        f"{violation['id']} ({violation['impact']}): "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert not found, f"{page.url}: {found}"


async def shown(page: Page, name: str) -> None:
    """Check the page with axe, then keep a screenshot of it."""
    await accessible(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"web-app-{name}.png"), full_page=True)


async def tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Press Tab until `target` has the keyboard's focus, as someone without a mouse would."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


async def log_in(page: Page, stack: Stack, key: str, name: str) -> None:
    await page.goto(f"{stack.url}/app/login")
    await page.get_by_label("Access key").fill(key)
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Caseload", level=1)).to_be_visible()


def row_of(page: Page, participant_id: str) -> Locator:
    return page.get_by_role("row").filter(has_text=participant_id)


# -- coaches --------------------------------------------------------------------------------------

FORMS: dict[str, Callable[[Page], Awaitable[None]]] = {}


def form(milestone: str) -> Callable[[Callable[[Page], Awaitable[None]]], Any]:
    def register(fill: Callable[[Page], Awaitable[None]]) -> Any:
        FORMS[milestone] = fill
        return fill

    return register


@form("Language assessed")
async def _language(page: Page) -> None:
    await page.locator("main").get_by_label("Language").select_option("nl")
    await page.get_by_label("Level").select_option("B1")
    await shown(page, "form-language")


@form("Digital skills assessed")
async def _digital(page: Page) -> None:
    await page.get_by_label("Level").select_option("5")


@form("Coach assigned")
async def _coach(page: Page) -> None:
    await page.get_by_label("Coach reference").fill("coach-amina")


@form("Enrolled in a training")
async def _course(page: Page) -> None:
    course = page.get_by_label("Course")
    free = course.locator("option", has_text="seats free").first
    await course.select_option(await free.get_attribute("value"))
    await shown(page, "form-training")


@form("Training completed")
async def _completed(page: Page) -> None:
    await page.get_by_label("Qualification gained (optional)").fill("Bike courier certificate")


@form("Placement started")
async def _placement(page: Page) -> None:
    await page.get_by_label("Kind").select_option("employment")
    await page.get_by_label("Start date").fill(datetime.now(UTC).date().isoformat())
    await page.get_by_label("Employer (optional)").fill("Urbike")
    await page.get_by_label("A bottleneck occupation").check()
    await shown(page, "form-placement")


async def report(page: Page, button: Locator) -> None:
    """Open a milestone's form from its button, fill what it needs, and record it."""
    milestone = (await button.inner_text()).strip()
    await button.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Report: {milestone}")
    if fill := FORMS.get(milestone):
        await fill(page)
    await page.get_by_role("button", name="Record").click()
    await expect(page.get_by_role("status")).to_contain_text("Recorded.", timeout=WAIT_MS)


async def test_a_coach_follows_next_steps_from_enrolment_to_a_placement_using_only_the_page(
    stack: Stack, browser: Browser
) -> None:
    async with person(browser) as page:
        await log_in(page, stack, stack.keys["jes"], COACH_NAME)
        await row_of(page, stack.steps).get_by_role("link").click()
        await expect(page.locator(".steps a").first).to_be_visible(timeout=WAIT_MS)
        await shown(page, "participant-intake")
        # What the programme expects next, then, with nothing left, what the plan is.
        planned = iter(["Enrolled in a training", "Training completed", "Placement started"])
        for _ in range(12):
            nexts = page.locator("ul.steps:not(.other) a")
            if await nexts.count():
                await report(page, nexts.first)
                continue
            milestone = next(planned, None)
            if milestone is None:
                break
            await report(page, page.locator("ul.other a", has_text=milestone))
        await shown(page, "participant-placement")

    state = await stack.snapshot(stack.steps)
    assert (state.phase, state.placement_kind) == (Phase.PLACEMENT, "employment")
    assert state.milestone_count == 9


async def test_a_coach_finds_who_is_silent_longest_and_closes_the_coach_call_by_keyboard(
    stack: Stack, browser: Browser
) -> None:
    await stack.until(
        stack.silent,
        lambda s: any(task.kind == "coach_call" for task in s.open_tasks),
        "the coach call",
    )
    async with httpx.AsyncClient(base_url=stack.url) as api:
        contact = await api.post(
            f"/v1/participants/{stack.contacted}/milestones",
            headers=bearer(stack.keys["jes"]),
            json={
                "milestone_id": "contact-1",
                "type": "participant_contact",
                "occurred_at": datetime.now(UTC).isoformat(),
            },
        )
        assert contact.status_code == 200, contact.text
    async with person(browser) as page:
        await page.goto(f"{stack.url}/app/login")
        await tab_to(page, page.get_by_label("Access key"))
        await page.keyboard.type(stack.keys["jes"])
        await page.keyboard.press("Tab")
        await page.keyboard.type(COACH_NAME)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Caseload", level=1)).to_be_visible()

        await tab_to(page, page.get_by_label("Silent for at least (days)"))
        await page.keyboard.type("10")
        await page.keyboard.press("Enter")
        await expect(row_of(page, stack.silent)).to_be_visible()
        await expect(row_of(page, stack.contacted)).to_have_count(0)
        await shown(page, "caseload")
        rows = page.locator("table.caseload tbody tr")
        days = {}
        for index in range(await rows.count()):
            text = await rows.nth(index).inner_text()
            participant = re.search(r"p-[0-9a-f]{20}", text)
            silence = re.search(r"(\d+) days ago", text)
            assert participant is not None and silence is not None, text
            days[participant.group(0)] = int(silence.group(1))
        assert max(days, key=lambda participant_id: days[participant_id]) == stack.silent, days

        await tab_to(page, row_of(page, stack.silent).get_by_role("link"))
        await page.keyboard.press("Enter")
        task = page.locator("form.task", has_text="Call from the coach")
        await expect(task).to_be_visible()
        await shown(page, "participant-task")
        await tab_to(page, task.get_by_label("Reached", exact=True))
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")  # the other answer
        await tab_to(page, task.get_by_label("Note (optional)"))
        await page.keyboard.type("called, coming on Monday")
        await page.keyboard.press("Enter")

        await expect(page.get_by_role("status")).to_contain_text("Task closed.")
        await expect(page.get_by_role("status")).to_contain_text("nudge level 0")
        closed = page.locator("table.timeline tr", has_text="Task closed: Call from the coach")
        await expect(closed).to_contain_text("Reached")
        await expect(closed).to_contain_text("called, coming on Monday")
        await expect(closed).to_contain_text(COACH_NAME)
        await shown(page, "participant-ladder-reset")

    state = await stack.snapshot(stack.silent)
    assert state.nudge_level == 0 and not any(t.kind == "coach_call" for t in state.open_tasks)


async def test_a_coach_gets_404_for_another_partners_participant_403_for_a_tokenless_form(
    stack: Stack, browser: Browser
) -> None:
    before = await stack.snapshot(stack.steps)
    async with person(browser) as page:
        await log_in(page, stack, stack.keys["jes"], COACH_NAME)
        answer = await page.goto(f"{stack.url}/app/participants/{stack.theirs}")
        assert answer is not None and answer.status == 404
        await expect(page.get_by_role("alert")).to_contain_text("no such page or participant")
        await shown(page, "not-found")

        await page.goto(
            f"{stack.url}/app/participants/{stack.steps}/milestones/new?type=participant_contact"
        )
        await page.locator("main input[name=csrf_token]").evaluate("field => field.remove()")
        async with page.expect_response(re.compile(r"/milestones$")) as posted:
            await page.get_by_role("button", name="Record").click()
        assert (await posted.value).status == 403
        await expect(page.get_by_role("alert")).to_contain_text("security token")
        await shown(page, "forbidden")

    after = await stack.snapshot(stack.steps)
    assert after.milestone_count == before.milestone_count


# -- case managers --------------------------------------------------------------------------------


async def test_a_case_manager_clears_a_waiting_trajectory_reassigns_another_timeline_names_them(
    stack: Stack, browser: Browser
) -> None:
    await stack.until(stack.waiting, lambda s: s.status == Status.NEEDS_ATTENTION, "attention")
    async with person(browser) as page:
        await log_in(page, stack, stack.keys["case_manager"], CASE_MANAGER_NAME)
        await page.get_by_role("link", name="Needs attention").click()
        waiting = page.locator("section.waiting", has_text=stack.waiting)
        await expect(waiting).to_contain_text("Unprocessable")
        await shown(page, "attention")
        await waiting.get_by_label("Reason (optional)").fill("SMS gateway repaired")
        await waiting.get_by_role("button", name="Resume and try again").click()
        await expect(page.get_by_role("status")).to_contain_text("Resumed.")
        await expect(page.locator("section.waiting", has_text=stack.waiting)).to_have_count(0)

        await page.goto(f"{stack.url}/app/participants/{stack.waiting}")
        resumed = page.locator("table.timeline tr", has_text="Resume").first
        await expect(resumed).to_contain_text(CASE_MANAGER_NAME)
        await expect(resumed).to_contain_text("SMS gateway repaired")

        await page.goto(f"{stack.url}/app/participants/{stack.moving}")
        reassign = page.locator("form", has=page.get_by_role("heading", name="Reassign"))
        await reassign.get_by_label("New partner").select_option("orientaeuro")
        await reassign.get_by_label("Reason (optional)").fill("wants coaching in Spanish")
        await reassign.get_by_role("button", name="Reassign").click()
        await expect(page.get_by_role("status")).to_contain_text("Reassigned.")
        await expect(page.locator("p.id").first).to_contain_text("partner orientaeuro")
        moved = page.locator("table.timeline tr", has_text="Reassign").first
        await expect(moved).to_contain_text(CASE_MANAGER_NAME)
        await expect(moved).to_contain_text("wants coaching in Spanish")
        await shown(page, "participant-case-manager")

        await page.get_by_role("link", name="Programme report").click()
        await expect(page.get_by_role("heading", name="Programme report")).to_be_visible()
        await page.screenshot(path=str(ARTIFACTS / "web-app-report.png"), full_page=False)

    assert (await stack.snapshot(stack.moving)).partner_id == "orientaeuro"
    resumed_state = await stack.until(stack.waiting, lambda s: s.status == Status.ACTIVE, "active")
    assert resumed_state.attention is None


# -- every page, three languages ------------------------------------------------------------------

PAGES = (
    "/app/",
    "/app/participants/{steps}",
    "/app/participants/{steps}/milestones/new?type=language_assessed",
    "/app/attention",
    "/app/participants/p-00000000000000000000",
)


@pytest.mark.parametrize(
    ("language", "caseload"),
    [
        ("nl", "Deelnemers per fase"),
        ("en", "Participants per phase"),
        ("fr", "Participants par phase"),
    ],
)
async def test_the_pages_speak_each_language_and_axe_finds_no_serious_violation(
    stack: Stack, browser: Browser, language: str, caseload: str
) -> None:
    async with person(browser, language) as page:
        await page.goto(f"{stack.url}/app/login")
        await expect(page.locator("html")).to_have_attribute("lang", language)
        await shown(page, f"login-{language}")
        await page.locator("#key").fill(stack.keys["case_manager"])
        await page.locator("form.card button").click()
        await expect(page.get_by_text(caseload)).to_be_visible()
        for path in PAGES:
            await page.goto(stack.url + path.format(steps=stack.steps))
            await expect(page.locator("html")).to_have_attribute("lang", language)
            await accessible(page)
        await page.goto(f"{stack.url}/app/")
        await shown(page, f"caseload-{language}")
