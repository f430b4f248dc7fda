"""What case managers see of a trajectory in the Temporal Web UI: its search attributes and its
current details (DESIGN §5)."""

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from infra import contract
    from trajectory.daytime import day_of
    from trajectory.records import TrajectorySnapshot
    from trajectory.silence import Timer
    from trajectory.state import TrajectoryState


class WebUi:
    """Upserts the search attributes that changed since the last look, and sets the details."""

    def __init__(self) -> None:
        self._shown: dict[str, object] = {}

    def upsert_attributes_and_details(
        self, state: TrajectoryState, snapshot: TrajectorySnapshot, timer: Timer | None
    ) -> None:
        """Upsert every search attribute whose value changed; set the current details."""
        wanted: list[SearchAttributeUpdate[Any]] = [
            contract.PARTNER.value_set(snapshot.partner_id),
            contract.PHASE.value_set(snapshot.phase.value),
            contract.STATUS.value_set(snapshot.status.value),
            contract.NUDGE_LEVEL.value_set(snapshot.nudge_level),
            contract.LAST_CONTACT.value_set(day_of(snapshot.last_contact_at)),
            contract.POSTCODE.value_set(state.postcode),
            contract.ENROLLED_AT.value_set(state.enrolled_at),
        ]
        if snapshot.outcome is not None:
            wanted.append(contract.OUTCOME.value_set(snapshot.outcome.value))
        changed = [u for u in wanted if self._shown.get(u.key.name) != u.value]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._shown.update({u.key.name: u.value for u in changed})
        workflow.set_current_details(_details(snapshot, timer))


def _details(snapshot: TrajectorySnapshot, timer: Timer | None) -> str:
    """The trajectory in a few lines of Markdown, for the Web UI's current details."""
    lines = [f"**Phase** {snapshot.phase.value} · **status** {snapshot.status.value}"]
    if (last := snapshot.last_milestone) is not None:
        lines.append(f"**Last milestone** {last.type.value} on {last.occurred_at:%Y-%m-%d}")
    if timer is not None:
        lines.append(f"**Next** {timer.summary} at {timer.at:%Y-%m-%d %H:%M} UTC")
    if snapshot.next_steps:
        lines.append(f"**Next steps** {', '.join(snapshot.next_steps)}")
    lines.append(f"**Nudge level** {snapshot.nudge_level}")
    if snapshot.attention:
        lines.append(f"**Needs attention** {snapshot.attention}")
    for task in snapshot.open_tasks:
        kind = task.kind.replace("_", " ")
        lines.append(f"**Open task** {kind} `{task.task_id}` due {task.due_at:%Y-%m-%d}")
    if snapshot.course_id is not None:
        lines.append(f"**Course** {snapshot.course_id}")
    return "\n".join(lines)
