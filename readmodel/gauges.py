"""Figures the operators' dashboard reads at each scrape: open trajectories and nudges sent."""

from infra.database import Connection

_OPEN_TRAJECTORIES = (
    "SELECT phase, status, count(*) AS n FROM trajectories"
    " WHERE status <> 'closed' GROUP BY phase, status"
)
_NUDGES_SENT = "SELECT partner_id, action, count(*) AS n FROM nudges GROUP BY partner_id, action"


async def open_trajectories(con: Connection, timeout: float) -> list[tuple[str, str, int]]:
    """(phase, status, count) of trajectories not closed."""
    rows = await con.fetch(_OPEN_TRAJECTORIES, timeout=timeout)
    return [(row["phase"], row["status"], row["n"]) for row in rows]


async def nudges_sent(con: Connection, timeout: float) -> list[tuple[str, str, int]]:
    """(partner, action, count) of the ladder's rungs carried out."""
    rows = await con.fetch(_NUDGES_SENT, timeout=timeout)
    return [(row["partner_id"], row["action"], row["n"]) for row in rows]
