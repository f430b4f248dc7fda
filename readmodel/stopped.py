"""Trajectories whose workflow was stopped from outside (terminated, failed, timed out).

No workflow code runs when an operator terminates a run, so the read model would say `active`
for ever; the worker's sweep marks such trajectories `needs_attention` instead.
"""

from infra.database import Connection

_MARK = """
UPDATE trajectories SET status = 'needs_attention', attention = $2, updated_at = now()
WHERE participant_id = $1 AND status NOT IN ('closed', 'needs_attention')
RETURNING participant_id
"""


async def mark_stopped(con: Connection, participant_id: str, attention: str) -> bool:
    """Show that the trajectory's workflow no longer runs; False when closed or marked before."""
    return await con.fetchval(_MARK, participant_id, attention) is not None
