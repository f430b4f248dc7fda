"""Someone with Temporal access but no payload key cannot make a trajectory act on clear input.

The Temporal CLI sends JSON as it is (`temporal workflow update execute --input ...`); here a
client without the codec does the same. The worker refuses what is meant for the workflow, and
the trajectory goes on as if nothing had been sent.
"""

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from infra.codec import ENCODING, EncryptionCodec, Keyring, data_converter
from infra.contract import TASK_QUEUE, workflow_id
from infra.database import Pool
from infra.sealed import UNSEALED, UNSEALED_ERROR, SealedInputsRunner
from tests.api_fixtures import EnrolByApi, Keys, bearer
from tests.keys import ENCRYPTED
from tests.trajectory_health import assert_no_trajectory_broke
from trajectory.programmes import load_programme
from trajectory.records import SeatOffer
from trajectory.state import TrajectoryInput
from workflows.trajectory import ParticipantTrajectory

BEFORE_ENCRYPTION = sorted((Path(__file__).parent / "histories").glob("v1-*.json"))
"""Release 1 recorded its payloads in clear."""


SENDERS: dict[str, DataConverter] = {
    "in clear": dataclasses.replace(pydantic_data_converter),
    "under another key": data_converter(Keyring.generate("elsewhere")),
}
"""Plain JSON, as the Temporal CLI sends it; and sealed with another deployment's key."""


def client_of(env: WorkflowEnvironment, sender: str) -> Client:
    """A client of the same server that speaks as `sender` does."""
    config = env.client.config()
    config["data_converter"] = SENDERS[sender]
    return Client(**config)


@pytest.fixture
def without_key(dev_env: WorkflowEnvironment) -> Client:
    return client_of(dev_env, "in clear")


def contact(milestone_id: str) -> dict[str, object]:
    return {
        "milestone_id": milestone_id,
        "type": "participant_contact",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }


async def test_a_milestone_sent_in_clear_is_refused_and_the_trajectory_goes_on(
    dev_env: WorkflowEnvironment,
    without_key: Client,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    pool: Pool,
) -> None:
    participant_id = await enrol_by_api("jes")
    started = datetime.now(UTC)
    forged = without_key.get_workflow_handle(workflow_id(participant_id))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await forged.execute_update("record_milestone", contact("forged-1"))

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == UNSEALED_ERROR
    path = f"/v1/participants/{participant_id}"
    genuine = await api.post(f"{path}/milestones", json=contact("real-1"), headers=bearer(keys.jes))
    assert genuine.status_code == 200, genuine.text
    assert genuine.json()["milestone_count"] == 1
    assert genuine.json()["last_milestone"]["type"] == "participant_contact"
    recorded = await pool.fetch(
        "SELECT milestone_id FROM milestones WHERE participant_id = $1", participant_id
    )
    assert "forged-1" not in {row["milestone_id"] for row in recorded}
    await assert_no_trajectory_broke(dev_env, [participant_id], started)


@pytest.mark.parametrize("sender", list(SENDERS))
async def test_a_seat_offer_signalled_without_this_deployments_key_is_dropped(
    dev_env: WorkflowEnvironment,
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    sender: str,
) -> None:
    client = client_of(dev_env, sender)
    participant_id = await enrol_by_api("jes")
    started = datetime.now(UTC)
    offer = SeatOffer(
        participant_id=participant_id,
        course_id="bike-courier",
        offered_until=datetime.now(UTC) + timedelta(days=3),
    )

    await client.get_workflow_handle(workflow_id(participant_id)).signal("seat_offered", offer)

    # An Update is handled after the signal, in a later workflow task: the state shows both.
    path = f"/v1/participants/{participant_id}"
    after = await api.post(f"{path}/milestones", json=contact("after"), headers=bearer(keys.jes))
    assert after.status_code == 200, after.text
    assert after.json()["seat_offered_until"] is None
    await assert_no_trajectory_broke(dev_env, [participant_id], started)


@pytest.mark.parametrize("sender", list(SENDERS))
async def test_a_trajectory_started_without_this_deployments_key_fails_at_once_and_writes_nothing(
    dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool, sender: str
) -> None:
    client = client_of(dev_env, sender)
    participant_id = f"p-{uuid.uuid4().hex[:20]}"
    forged = TrajectoryInput(
        participant_id=participant_id,
        programme=load_programme("jes"),
        postcode="1080",
        language="fr",
    )

    handle = await client.start_workflow(
        "ParticipantTrajectory",
        forged,
        id=workflow_id(participant_id),
        task_queue=TASK_QUEUE,
        execution_timeout=timedelta(minutes=1),
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()

    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == UNSEALED_ERROR
    assert not await pool.fetchval(
        "SELECT count(*) FROM trajectories WHERE participant_id = $1", participant_id
    )


async def test_the_codec_marks_what_it_did_not_seal_and_lets_the_sdks_nulls_through() -> None:
    codec = EncryptionCodec(Keyring.generate("k1"))
    clear = ParticipantTrajectory.__name__.encode()
    [sealed] = await codec.encode(
        [pydantic_data_converter.payload_converter.to_payloads([clear.decode()])[0]]
    )
    [null] = pydantic_data_converter.payload_converter.to_payloads([None])
    [plain] = pydantic_data_converter.payload_converter.to_payloads([clear.decode()])

    opened, passed, marked = await codec.decode([sealed, null, plain])

    assert sealed.metadata["encoding"] == ENCODING
    assert UNSEALED not in opened.metadata
    assert passed == null
    assert marked.metadata[UNSEALED] == b"not encrypted"
    assert marked.data == plain.data


@pytest.mark.parametrize("path", BEFORE_ENCRYPTION, ids=[p.stem for p in BEFORE_ENCRYPTION])
async def test_a_trajectory_recorded_before_encryption_still_replays_on_the_worker(
    path: Path,
) -> None:
    """Its history holds clear inputs that were genuine then; a replay decides as it did."""
    history = WorkflowHistory.from_json(f"trajectory-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=[ParticipantTrajectory],
        data_converter=ENCRYPTED,
        workflow_runner=SealedInputsRunner(SandboxedWorkflowRunner()),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
