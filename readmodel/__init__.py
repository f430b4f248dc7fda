"""The PostgreSQL read model: its schema, every write and every read, in one place.

Workflows own the truth; this package keeps the tables that lists, tasks and reports read, and
is the only place that holds SQL about trajectories.
"""

from readmodel.schema import migrate

__all__ = ["migrate"]
