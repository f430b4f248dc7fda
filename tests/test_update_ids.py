"""What Temporal shows in clear about a milestone says nothing of it: not its content, not the id
the partner chose.

A milestone is a Temporal Update whose id is stored in clear in the history and shown by the Web
UI without the codec. Its content is low-entropy (a language and a level, four booleans of a
follow-up), so an unkeyed hash of it in the id would give it away to anyone reading histories.
"""

import asyncio
import base64
import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.contract import workflow_id
from infra.database import Pool
from infra.person_keys import configured_person_keys, person_keyring
from infra.settings import Settings, get_settings
from tests.api_fixtures import EnrolByApi, Keys, bearer, written
from tests.test_api_contract import milestone
from tests.web_pages import web_user
from trajectory.milestones import Milestone

LANGUAGES = ("fr", "nl", "en", "ar", "es", "tr", "pt", "ro", "pl", "it", "de")
LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


def unkeyed_fingerprint(kind: str, occurred_at: datetime, payload: dict[str, str]) -> str:
    """What anyone could compute: a plain hash of type, time and payload."""
    said = {
        "type": kind,
        "occurred_at": (occurred_at - datetime(1970, 1, 1, tzinfo=UTC))
        // timedelta(microseconds=1),
        "payload": payload,
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


async def update_ids(env: WorkflowEnvironment, participant_id: str) -> list[str]:
    """The Update ids of a trajectory's history, as its raw events hold them."""
    history = await env.client.get_workflow_handle(workflow_id(participant_id)).fetch_history()
    return [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for event in history.events
        if event.HasField("workflow_execution_update_accepted_event_attributes")
    ]


async def test_an_update_id_gives_away_neither_the_milestone_nor_the_id_the_partner_chose(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    pool: Pool,
) -> None:
    participant_id = await enrol_by_api("jes")
    path = f"/v1/participants/{participant_id}/milestones"
    intake = await api.post(path, json=milestone("intake_interview_held"), headers=bearer(keys.jes))
    assert intake.status_code == 200, intake.text
    occurred_at = datetime.now(UTC)  # the attacker knows it (it is near the event's own time)
    assessed = milestone(
        "language_assessed",
        {"language": "fr", "level": "B1"},
        milestone_id="yasmina-el-amrani-french",
        occurred_at=occurred_at.isoformat(),
    )
    answer = await api.post(path, json=assessed, headers=bearer(keys.jes))
    assert answer.status_code == 200, answer.text
    assert answer.json()["phase"] == "assessment"

    ids = await update_ids(dev_env, participant_id)
    assert len(ids) == 2
    assert not [update_id for update_id in ids if "yasmina" in update_id]
    # Someone reading the history tries every language and level at the reported time.
    guesses = {
        unkeyed_fingerprint("language_assessed", occurred_at, {"language": lang, "level": level})
        for lang, level in itertools.product(LANGUAGES, LEVELS)
    }
    assert not [update_id for update_id in ids if any(guess in update_id for guess in guesses)]
    # The fingerprint the API made is the one the read model keeps (it tells a retry from reuse).
    await written(pool, participant_id, milestones=2)
    stored = await pool.fetchval(
        "SELECT fingerprint FROM milestones WHERE participant_id = $1 AND milestone_id = $2",
        participant_id,
        "yasmina-el-amrani-french",
    )
    assert [update_id for update_id in ids if stored in update_id]


def test_the_fingerprint_is_keyed() -> None:
    said = Milestone.model_validate(
        milestone("language_assessed", {"language": "fr", "level": "B1"})
    )
    keys = configured_person_keys(get_settings())
    other = configured_person_keys(
        Settings(PARCOURS_PERSON_KEYS=f"other:{base64.b64encode(bytes(32)).decode()}")
    )

    assert said.fingerprint(keys.milestone_key) == said.fingerprint(keys.milestone_key)
    assert said.fingerprint(keys.milestone_key) != said.fingerprint(other.milestone_key)


async def test_a_milestone_sent_again_after_the_person_keys_rotated_is_a_repeat_not_a_reuse(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    pool: Pool,
) -> None:
    participant_id = await enrol_by_api("jes")
    path = f"/v1/participants/{participant_id}/milestones"
    interview = milestone("intake_interview_held")
    first = await api.post(path, json=interview, headers=bearer(keys.jes))
    assert first.status_code == 200, first.text

    current = person_keyring(get_settings())
    old = ",".join(
        f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in current.keys.items()
    )
    new = f"rotated:{base64.b64encode(bytes(range(32))).decode()}"
    settings = Settings(
        temporal_namespace=dev_env.client.namespace,
        key_cache_seconds=0,
        PARCOURS_PERSON_KEYS=f"{new},{old}",
    )
    rotated = create_app(settings)
    hold(rotated, dev_env.client, pool, settings)
    transport = httpx.ASGITransport(app=rotated)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as after:
        again = await after.post(path, json=interview, headers=bearer(keys.jes))

    assert again.status_code == 200, again.text
    assert again.json()["milestone_count"] == first.json()["milestone_count"] == 1


async def test_a_milestone_from_the_web_app_keeps_the_partners_id_out_of_the_update_id_too(
    dev_env: WorkflowEnvironment,
    api_app: FastAPI,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
) -> None:
    participant_id = await enrol_by_api("jes")
    page = f"/app/participants/{participant_id}"
    now = datetime.now(UTC).astimezone().strftime("%Y-%m-%dT%H:%M")
    for _ in range(200):  # the intake check lets milestones in
        state = await api.get(page.replace("/app", "/v1"), headers=bearer(keys.jes))
        if state.json()["next_steps"]:
            break
        await asyncio.sleep(0.05)
    async with web_user(api_app, keys.jes, "Amina Coach") as coach:
        done = await coach.post_from(
            page,
            f"{page}/milestones",
            {"type": "intake_interview_held", "milestone_id": "yasmina-web-intake",
             "occurred_at": now},
        )  # fmt: skip
    assert done.status_code == 303, done.text

    [update_id] = await update_ids(dev_env, participant_id)
    assert "yasmina" not in update_id
