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

Whether an activation is live comes from `SealedInputsRunner`, which wraps the worker's runner:
the converter runs inside `activate`, on the activation's thread, where the SDK says nothing
about replay outside the workflow's event loop.
"""

import copy
import threading
from collections.abc import Sequence
from typing import Any, Self

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import SerializationContext, WorkflowSerializationContext
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

_activation = threading.local()


def _live() -> bool:
    """Whether the activation being applied on this thread is new, not a replay."""
    return bool(getattr(_activation, "live", False))


class SealedInputConverter(PayloadConverter):
    """Pydantic payloads; inputs of a live workflow activation must have been sealed."""

    def __init__(self) -> None:
        super().__init__()
        self._workflow_inputs = False
        self._variants: dict[bool, Self] = {}

    def with_context(self, context: SerializationContext) -> Self:
        """The workflow's own context converts its inputs; activity contexts do not. (The SDK
        asks for every payload: each of the two variants is made once and shared.)"""
        workflow_inputs = isinstance(context, WorkflowSerializationContext)
        self._variants.setdefault(self._workflow_inputs, self)
        if workflow_inputs not in self._variants:
            variant = copy.copy(self)
            variant._workflow_inputs = workflow_inputs
            self._variants[workflow_inputs] = variant
        return self._variants[workflow_inputs]

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        marked = [p for p in payloads if UNSEALED in p.metadata or UNDECRYPTABLE in p.metadata]
        if marked and self._workflow_inputs and _live():
            raise ApplicationError(
                "refused a payload that is not sealed with this deployment's key: "
                "send it through the Parcours API, or through the codec server",
                type=UNSEALED_ERROR,
                non_retryable=True,
            )
        for payload in marked:
            if why := payload.metadata.get(UNDECRYPTABLE):
                raise ValueError(f"cannot decrypt a payload: {why.decode()}")
        return super().from_payloads(payloads, type_hints)


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
        _activation.live = not act.is_replaying
        try:
            return self._instance.activate(act)
        finally:
            _activation.live = False

    # The rest is the SDK's business; its types live in private modules.
    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        return self._instance.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        return self._instance.get_external_store_context(command_info)

    def get_info(self) -> Info:
        return self._instance.get_info()

    def get_thread_id(self) -> int | None:
        return self._instance.get_thread_id()
