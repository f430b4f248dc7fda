"""The worker acts only on inputs sealed with this deployment's key (issue 9).

Someone with access to Temporal but not to the payload key could send an Update, a signal or a
start with a clear JSON payload (`temporal workflow update execute --input ...`), and the
workflow would take it as genuine. `EncryptionCodec.decode` marks every payload it did not
decrypt (`UNSEALED`: in clear; `UNDECRYPTABLE`: a key it does not hold, or tampered) instead of
raising, which would fail the workflow task again and again. `SealedInputConverter` refuses a
marked payload that is meant for the workflow itself (start input, Update, signal and query
arguments) in a *live* activation:

- an Update is rejected before its validator: the caller gets the error, nothing is recorded;
- a signal is dropped (the SDK logs it); the workflow goes on;
- a workflow started with a clear input fails at once instead of running on forged data.

Left alone, so that nothing wedges a trajectory: histories being replayed (they hold the clear
payloads that releases before encryption recorded, and a replay must decide as it did then),
`binary/null` payloads without data (what the SDK writes for None), and clear results and
failures of the workflow's own activities (a refusal there fails the workflow task, which
retries forever). Anywhere else an undecryptable payload cannot be converted, and the error
says why. What is left open: completing an activity that is in flight from outside
(`temporal activity complete`) in clear is accepted, and with garbage ciphertext it fails the
workflow task; Temporal's own authorization has to keep such callers out.

Sealed is not enough: a payload copied from one history into another (a case manager's
reassignment sent to another participant, a pause sent back as a resume) decrypts all the same.
So every payload is also bound to where it belongs: the converter writes, into the payload that
the codec then encrypts (so no one without the key can change it), the workflow it is for
(`BOUND_WORKFLOW`) and the request type or activity (`BOUND_FOR`), from the SDK's serialization
context. In a live activation:

- a workflow input bound elsewhere, or not bound at all (sealed by a release before the binding,
  or by the codec server's `/encode`, which knows no place), is refused like an unsealed one;
- an activity's result or failure bound to another workflow or activity fails to convert (one
  copied into `temporal activity complete` fails the workflow task, which waits for an operator,
  instead of deciding another participant's intake); one without a binding is taken, as a worker
  of the release before would have sent it.

Replays and clients do not check: a history decides as it did when it was recorded, whatever
its workflow id is called now.

Whether an activation is live comes from `SealedInputsRunner`, which wraps the worker's runner:
the converter runs inside `activate`, on the activation's thread, where the SDK says nothing
about replay outside the workflow's event loop.
"""

import copy
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.common import RawValue
from temporalio.converter import (
    ActivitySerializationContext,
    SerializationContext,
    WorkflowSerializationContext,
)
from temporalio.exceptions import ApplicationError
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.workflow import Info

from infra.conversion import PayloadConverter

UNSEALED = "parcours-unsealed"
"""Metadata the codec sets on a payload that arrived without its encryption."""
UNDECRYPTABLE = "parcours-undecryptable"
"""Metadata the codec sets, with the reason, on a payload it could not decrypt (a key it does
not hold, or tampered ciphertext)."""
UNSEALED_ERROR = "UnsealedPayload"
"""`ApplicationError.type` of the refusal."""
BOUND_WORKFLOW = "parcours-bound-workflow"
"""Metadata inside the ciphertext: the id of the workflow a payload was sealed for."""
BOUND_FOR = "parcours-bound-for"
"""Metadata inside the ciphertext: the request type (`ReassignParticipant`) or the activity
(`activity:check_eligibility`) a payload was sealed for."""
_NULL = b"binary/null"

_activation = threading.local()


def _live() -> bool:
    """Whether the activation being applied on this thread is new, not a replay."""
    return bool(getattr(_activation, "live", False))


@contextmanager
def applying_activation(live: bool) -> Iterator[None]:
    """Say, on this thread, that an activation is being applied, and whether it is new."""
    _activation.live = live
    try:
        yield
    finally:
        _activation.live = False


class SealedInputConverter(PayloadConverter):
    """Pydantic payloads bound to where they belong; inputs of a live workflow activation must
    have been sealed for it."""

    def __init__(self) -> None:
        super().__init__()
        self._context: SerializationContext | None = None

    def with_context(self, context: SerializationContext) -> Self:
        """The converter for payloads of `context`: a workflow's own, or one of its activities'."""
        variant = copy.copy(self)
        variant._context = context
        return variant

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if value is None or isinstance(value, RawValue):
                continue
            workflow, purpose = self._place(type(value))
            if workflow is not None and purpose is not None:
                payload.metadata[BOUND_WORKFLOW] = workflow.encode()
                payload.metadata[BOUND_FOR] = purpose.encode()
        return payloads

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        live = _live()
        live_inputs = live and isinstance(self._context, WorkflowSerializationContext)
        marked = [p for p in payloads if UNSEALED in p.metadata or UNDECRYPTABLE in p.metadata]
        if marked and live_inputs:
            raise _refused("not sealed with this deployment's key")
        for payload in marked:
            if why := payload.metadata.get(UNDECRYPTABLE):
                raise ValueError(f"cannot decrypt a payload: {why.decode()}")
        if live:
            hints: Sequence[type | None] = type_hints or [None] * len(payloads)
            for payload, hint in zip(payloads, hints, strict=False):
                if UNSEALED not in payload.metadata:
                    self._check_place(payload, hint, live_inputs)
        return super().from_payloads(payloads, type_hints)

    def _place(self, kind: type | None) -> tuple[str | None, str | None]:
        """The workflow and the request type or activity that payloads of `kind` belong to here
        (None where the context does not say)."""
        match self._context:
            case WorkflowSerializationContext(workflow_id=workflow):
                return workflow, kind.__name__ if isinstance(kind, type) else None
            case ActivitySerializationContext(workflow_id=str(workflow), activity_type=activity):
                return workflow, f"activity:{activity}" if activity else None
        return None, None

    def _check_place(self, payload: Payload, hint: type | None, live_inputs: bool) -> None:
        """In a live activation: refuse a workflow input sealed for another place or for none,
        and fail an activity's result sealed for another workflow or activity."""
        if payload.metadata.get("encoding") == _NULL and not payload.data:
            return
        workflow, purpose = self._place(hint)
        if workflow is None:
            return
        bound_workflow = payload.metadata.get(BOUND_WORKFLOW, b"").decode()
        bound_for = payload.metadata.get(BOUND_FOR, b"").decode()
        if not bound_workflow:
            if live_inputs:
                raise _refused("sealed for no trajectory")
            return
        if bound_workflow == workflow and purpose in (None, bound_for):
            return
        where = f"{bound_for} of {bound_workflow}"
        if live_inputs:
            raise _refused(f"sealed for another trajectory or request ({where})")
        raise ValueError(f"a payload sealed for another workflow or step ({where})")


def _refused(why: str) -> ApplicationError:
    """The refusal of a live workflow input, for the Update's caller (or the failed start)."""
    return ApplicationError(
        f"refused a payload {why}: send the request through the Parcours API",
        type=UNSEALED_ERROR,
        non_retryable=True,
    )


class SealedInputsRunner(WorkflowRunner):
    """The worker's workflow runner, telling `SealedInputConverter` which activations are live."""

    def __init__(self, runner: WorkflowRunner) -> None:
        super().__init__()
        self._runner = runner

    def prepare_workflow(self, defn: Any) -> None:
        self._runner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _LiveInstance(self._runner.create_instance(det))

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self._runner.set_worker_level_failure_exception_types(types)


class _LiveInstance(WorkflowInstance):
    """A workflow instance whose activations say, on their thread, whether they are replays."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        with applying_activation(live=not act.is_replaying):
            return self._instance.activate(act)

    # The rest is the SDK's business; its types live in private modules.
    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        return self._instance.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._instance.get_external_store_context(command_info)

    def get_info(self) -> Info:
        return self._instance.get_info()

    def get_thread_id(self) -> int | None:
        return self._instance.get_thread_id()
