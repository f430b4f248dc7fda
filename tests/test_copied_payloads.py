"""A sealed payload works only where it was sealed for: its trajectory, and its request or step.

Someone with access to Temporal but not to the payload key cannot forge a payload, but can copy
one: a case manager's reassignment from one history, sent as an Update to another participant,
would be taken with its original actor; a pause sent back as a resume would resume. Each payload
carries, inside its ciphertext, the workflow and the request type or activity it was sealed for
(`infra.sealed`), and the worker refuses it anywhere else. Payloads sealed before that binding
existed still decrypt and replay.
"""

from datetime import UTC, datetime

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from infra.codec import ENCODING
from infra.contract import TASK_QUEUE, workflow_id
from infra.sealed import UNSEALED_ERROR, applying_activation
from tests.api_fixtures import EnrolByApi, Keys, bearer
from tests.keys import ENCRYPTED
from tests.test_unsealed_payloads import client_of
from tests.trajectory_health import assert_no_trajectory_broke
from trajectory.records import EligibilityDecision
from trajectory.requests import PauseRequest, PauseTrajectory
from workflows.errors import REFUSED


def update_input(history: WorkflowHistory, update_name: str) -> Payload:
    """The input of the first accepted Update named `update_name`, as the history stores it."""
    for event in history.events:
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == update_name:
                [payload] = request.input.args.payloads
                return payload
    raise AssertionError(f"no {update_name} Update in the history")


async def refused_update(
    env: WorkflowEnvironment, participant_id: str, update_name: str, payload: Payload
) -> ApplicationError:
    """Send `payload` as it is to the participant's Update `update_name`; the refusal."""
    sender = client_of(env, "in clear").get_workflow_handle(workflow_id(participant_id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await sender.execute_update(update_name, RawValue(payload))
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_a_reassignment_copied_to_another_participant_is_refused(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    first, second = await enrol_by_api("jes"), await enrol_by_api("jes")
    started = datetime.now(UTC)
    reassigned = await api.post(
        f"/v1/participants/{first}/reassign",
        json={"partner_id": "inbrussel", "reason": "wants coaching in Dutch"},
        headers=bearer(keys.case_manager),
    )
    assert reassigned.status_code == 200, reassigned.text
    history = await dev_env.client.get_workflow_handle(workflow_id(first)).fetch_history()
    copied = update_input(history, "reassign")
    assert copied.metadata["encoding"] == ENCODING  # ciphertext, as anyone reading it finds it

    refusal = await refused_update(dev_env, second, "reassign", copied)

    assert refusal.type == UNSEALED_ERROR
    state = await api.get(f"/v1/participants/{second}", headers=bearer(keys.case_manager))
    assert state.json()["partner_id"] == "jes"
    timeline = await api.get(f"/v1/participants/{second}/timeline", headers=bearer(keys.jes))
    assert "reassign" not in timeline.text
    await assert_no_trajectory_broke(dev_env, [second], started)


async def test_a_pause_sent_back_as_a_resume_is_refused(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    paused = await api.post(
        f"/v1/participants/{participant_id}/pause",
        json={"reason": "hospital stay"},
        headers=bearer(keys.case_manager),
    )
    assert paused.status_code == 200, paused.text
    history = await dev_env.client.get_workflow_handle(workflow_id(participant_id)).fetch_history()

    refusal = await refused_update(
        dev_env, participant_id, "resume", update_input(history, "pause")
    )

    assert refusal.type == UNSEALED_ERROR
    state = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.jes))
    assert state.json()["status"] == "paused"


async def test_a_payload_sealed_for_no_trajectory_is_refused_live_yet_still_reads(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    """What the codec server's /encode makes, or a release before the binding wrote."""
    participant_id = await enrol_by_api("jes")
    pause = PauseTrajectory(request=PauseRequest(reason="sealed without a place"))
    [unbound] = await ENCRYPTED.encode([pause])

    refusal = await refused_update(dev_env, participant_id, "pause", unbound)

    assert refusal.type == UNSEALED_ERROR
    state = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.jes))
    assert state.json()["status"] == "active"
    in_place = WorkflowSerializationContext(namespace="default", workflow_id="trajectory-p-1")
    assert await ENCRYPTED.decode([unbound], [PauseTrajectory]) == [pause]
    assert await ENCRYPTED.with_context(in_place).decode([unbound], [PauseTrajectory]) == [pause]


def step(workflow: str, activity: str) -> ActivitySerializationContext:
    return ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type=activity,
        activity_task_queue=TASK_QUEUE,
        workflow_id=workflow,
        workflow_type="ParticipantTrajectory",
        is_local=True,
    )


async def test_a_steps_result_is_taken_only_by_its_own_trajectory_and_step() -> None:
    """`temporal activity complete` with a result copied from another history fails the
    workflow task instead of deciding another participant's intake; a replay reads it all."""
    eligible = EligibilityDecision(eligible=True)
    here = step("trajectory-p-1", "check_eligibility")
    [sealed] = await ENCRYPTED.with_context(here).encode([eligible])
    [unbound] = await ENCRYPTED.encode([eligible])  # as the release before sealed results

    with applying_activation(live=True):
        assert await ENCRYPTED.with_context(here).decode([sealed], [EligibilityDecision]) == [
            eligible
        ]
        assert await ENCRYPTED.with_context(here).decode([unbound], [EligibilityDecision]) == [
            eligible
        ]
        for elsewhere in (
            step("trajectory-p-2", "check_eligibility"),
            step("trajectory-p-1", "load_programme"),
        ):
            with pytest.raises(ValueError, match="sealed for another workflow or step"):
                await ENCRYPTED.with_context(elsewhere).decode([sealed], [EligibilityDecision])
    with applying_activation(live=False):
        replayed = step("trajectory-r1-renamed", "check_eligibility")
        assert await ENCRYPTED.with_context(replayed).decode([sealed], [EligibilityDecision]) == [
            eligible
        ]


async def test_a_steering_request_sent_again_to_its_own_trajectory_is_refused(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    """A case manager's pause, copied from the history after they resumed, and sent again to
    the same trajectory and handler: its binding holds, so only its request id tells."""
    participant_id = await enrol_by_api("jes")
    for action in ("pause", "resume"):
        steered = await api.post(
            f"/v1/participants/{participant_id}/{action}",
            json={"reason": f"{action}: hospital stay"},
            headers=bearer(keys.case_manager),
        )
        assert steered.status_code == 200, steered.text
    history = await dev_env.client.get_workflow_handle(workflow_id(participant_id)).fetch_history()

    refusal = await refused_update(dev_env, participant_id, "pause", update_input(history, "pause"))

    assert refusal.type == REFUSED
    state = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.jes))
    assert state.json()["status"] == "active"
