"""Log context of a running activity: every line names its workflow, run and participant."""

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from temporalio import activity


@contextmanager
def bound_to_workflow(participant_id: str | None = None) -> Iterator[None]:
    """Tag every log line of the running activity with its workflow and participant."""
    info = activity.info()
    ids = {"workflow_id": info.workflow_id, "run_id": info.workflow_run_id}
    if participant_id is not None:
        ids["participant_id"] = participant_id
    with structlog.contextvars.bound_contextvars(**ids):
        yield
