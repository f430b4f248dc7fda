"""What the Temporal server keeps of a trajectory is ciphertext, and never a person's details.

Runs on a real dev server of its own whose clients and worker use the encrypted converter that
`infra.temporal.connect` gives every process; the history is read back by a client without the
codec, as anyone with access to the server (or its database) would see it.
"""

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.enrolment import enrol
from infra.codec import ENCODING, Keyring, data_converter
from infra.contract import SEARCH_ATTRIBUTES, workflow_id
from infra.database import Pool
from tests.history_text import payloads
from tests.journeys import Journey
from tests.people import enrolment
from tests.temporal_fixtures import BIN, SERVER_STARTUP
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome
from trajectory.requests import CloseRequest, CloseTrajectory, PauseRequest, PauseTrajectory
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

KEYRING = Keyring.generate("history-test")


@pytest.fixture(scope="module")
async def encrypted_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_startup_timeout=SERVER_STARTUP,
        data_converter=data_converter(KEYRING),
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def encrypted_worker(encrypted_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    async with build_worker(encrypted_env.client, pool) as worker:
        yield worker


async def test_a_scripted_trajectory_leaves_only_ciphertext_and_no_personal_data(
    encrypted_env: WorkflowEnvironment,
    encrypted_worker: Worker,
    pool: Pool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    request = enrolment("jes", language="fr")
    person = request.person
    enrolled = await enrol(encrypted_env.client, pool, request)
    journey = Journey(encrypted_env, enrolled.handle, enrolled.participant_id, pool)
    await journey.wait_for(lambda s: s.eligibility != "pending", "the eligibility check")
    await journey.finish_phase()
    await journey.report(M.LANGUAGE_ASSESSED, {"language": "fr", "level": "B1"})
    await journey.handle.execute_update(
        ParticipantTrajectory.pause, PauseTrajectory(request=PauseRequest(reason="hospital stay"))
    )
    await journey.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(
            request=CloseRequest(outcome=Outcome.WITHDRAWN, reason="moved in with family abroad")
        ),
    )
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": False})
    await journey.written()  # the workflow runs on to the six-month check; its history so far

    plain = await Client.connect(
        encrypted_env.client.service_client.config.target_host,
        data_converter=pydantic_data_converter,
    )
    history = await plain.get_workflow_handle(workflow_id(enrolled.participant_id)).fetch_history()

    found = [
        (f"events[{index}]{path}", payload)
        for index, event in enumerate(history.events)
        for path, payload in payloads(event)
    ]
    indexed = [(path, p) for path, p in found if ".search_attributes." in path]
    # Markers' own bookkeeping is written by the SDK's core, not the data converter: a patch's id,
    # a local activity's id and type. It is still searched for personal data below.
    bookkeeping = [
        (path, p)
        for path, p in found
        if ".marker_recorded_event_attributes.details[patch-data]" in path
        or ".marker_recorded_event_attributes.details[data]" in path
    ]
    encrypted = [
        (path, p)
        for path, p in found
        if ".search_attributes." not in path and (path, p) not in bookkeeping
    ]
    assert len(encrypted) > 10
    assert [path for path, p in encrypted if p.metadata.get("encoding") != ENCODING] == []
    assert {p.metadata["encryption-key-id"] for _, p in encrypted} == {b"history-test"}
    # Search attributes stay readable for the Web UI's queries: partner, phase, postcode...
    assert {path.rsplit("[", 1)[-1].rstrip("]") for path, _ in indexed} >= {
        "ParcoursPartner",
        "ParcoursPhase",
    }

    secrets = [
        person.given_name,
        person.family_name,
        person.national_number,
        person.birth_date.isoformat(),
        str(person.phone),
        str(person.email),
    ]
    stored = history.to_json() + "".join(repr(p.data) for _, p in found)
    in_clear = ["participant_id", "hospital stay", "moved in with family", '"programme"']
    assert [s for s in secrets + in_clear if s in stored] == []
    assert [s for s in secrets if s in caplog.text] == []
    assert enrolled.participant_id in caplog.text
