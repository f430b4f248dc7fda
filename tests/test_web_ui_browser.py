"""A case manager in the Web UI finds a JES trajectory by partner and phase and reads its input.

The dev server runs with its Web UI pointed at the codec server; the worker encrypts every
payload, so the clear JSON on screen can only come from the codec server, through the browser.
Needs Debian's `chromium` (`apt-get install -y chromium`): without it the test fails.
"""

import base64
import os
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn
from playwright.async_api import Locator, Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from temporalio.testing import WorkflowEnvironment

from api.enrolment import enrol
from infra.codec import Keyring, data_converter
from infra.contract import SEARCH_ATTRIBUTES, workflow_id
from infra.database import Pool
from infra.settings import Settings
from starter.codec_server import create_codec_app
from tests.journeys import Journey
from tests.people import enrolment
from tests.serving import uvicorn_serving
from tests.temporal_fixtures import BIN, SERVER_STARTUP
from worker import build_worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
SCREENSHOT = ARTIFACTS / "web-ui-trajectory.png"
SCREENSHOT_REFUSED = ARTIFACTS / "web-ui-without-credential.png"
QUERY = 'ParcoursPartner="jes" AND ParcoursPhase="intake"'
WAIT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def _codec_server(settings: Settings) -> AsyncIterator[None]:
    """The codec server on `settings.codec_port`, as `python -m starter codec` runs it."""
    app = create_codec_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.codec_port, log_config=None)
    async with uvicorn_serving(config):
        yield


async def _open_from_query(page: Page, ui: str, workflow: str) -> None:
    """List by the query, reloading until visibility has the trajectory, then open it."""
    await page.goto(f"{ui}/namespaces/default/workflows?query={quote(QUERY)}")
    link = page.get_by_role("link", name=workflow).first
    for _ in range(6):
        try:
            await link.wait_for(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            await page.reload()
    await link.click(timeout=WAIT_MS)


@dataclass(frozen=True)
class WebUi:
    """A dev server with its Web UI, whose codec endpoint is `codec_port`, and one trajectory."""

    url: str
    codec_port: int
    keys: str
    participant_id: str

    def codec_settings(self, **overrides: object) -> Settings:
        return Settings.model_validate(
            {
                "PARCOURS_CODEC_KEYS": self.keys,
                "PARCOURS_UI_ORIGIN": self.url,
                "PARCOURS_CODEC_PORT": self.codec_port,
                **overrides,
            }
        )


@pytest.fixture(scope="module")
async def web_ui(pool: Pool) -> AsyncIterator[WebUi]:
    """A JES youth enrolled on a dev server whose workers encrypt every payload."""
    ui_port, codec_port = _free_port(), _free_port()
    keys = f"ui-test:{base64.b64encode(os.urandom(32)).decode()}"
    env = await WorkflowEnvironment.start_local(
        dev_server_startup_timeout=SERVER_STARTUP,
        data_converter=data_converter(Keyring.parse(keys)),
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=[
            "--ui-codec-endpoint",
            f"http://127.0.0.1:{codec_port}/codec",
            "--ui-disable-news-fetch",
        ],
    )
    try:
        async with build_worker(env.client, pool):
            enrolled = await enrol(env.client, pool, enrolment("jes"))
            journey = Journey(env, enrolled.handle, enrolled.participant_id, pool)
            await journey.wait_for(lambda s: s.eligibility == "eligible", "the eligibility check")
            yield WebUi(f"http://127.0.0.1:{ui_port}", codec_port, keys, enrolled.participant_id)
    finally:
        await env.shutdown()


@asynccontextmanager
async def _browser(screenshot: Path) -> AsyncIterator[Page]:
    """A headless Chromium page; what it shows last is saved to `screenshot`."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's package: apt-get install -y chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1600, "height": 1200})
        try:
            yield page
        finally:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(screenshot), full_page=True)
            await browser.close()


def _input_panel(page: Page, text: str) -> Locator:
    return page.locator('.cm-content[data-language="json"]').filter(has_text=re.compile(text))


async def test_a_case_manager_finds_a_jes_trajectory_in_intake_and_reads_its_decoded_input(
    web_ui: WebUi,
) -> None:
    async with _codec_server(web_ui.codec_settings()), _browser(SCREENSHOT) as page:
        await _open_from_query(page, web_ui.url, workflow_id(web_ui.participant_id))

        # Clear JSON of the input: only the codec server can have produced it.
        decoded = _input_panel(page, rf'"participant_id":\s*"{web_ui.participant_id}"')
        await expect(decoded).to_be_visible(timeout=WAIT_MS)
        await expect(decoded).to_contain_text(re.compile(r'"partner_id":\s*"jes"'))


async def test_a_web_ui_without_a_case_manager_credential_shows_only_ciphertext(
    web_ui: WebUi, database_url: str
) -> None:
    production = web_ui.codec_settings(PARCOURS_ENV="production", DATABASE_URL=database_url)
    async with _codec_server(production), _browser(SCREENSHOT_REFUSED) as page:
        await _open_from_query(page, web_ui.url, workflow_id(web_ui.participant_id))

        # The UI says the codec refused and shows the input as stored: base64 ciphertext.
        await expect(
            page.locator("#content").get_by_text("Codec Server could not connect")
        ).to_be_visible(timeout=WAIT_MS)
        await expect(_input_panel(page, r'^"[A-Za-z0-9+/]{200,}')).to_be_visible()
        # Key names hold "_", which base64 never does ("jes" turns up in ciphertext by chance).
        await expect(_input_panel(page, "participant_id|partner_id")).to_have_count(0)
        await expect(page.get_by_text("intake eligibility check")).to_have_count(0)
