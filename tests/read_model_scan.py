"""Looking for a person where anyone could see them: every table and column of the read model
(enumerated from the schema, so a new table is covered by itself) and a workflow's search
attributes."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from temporalio.client import WorkflowHandle

from infra.database import Pool

_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name, c.ordinal_position
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def found_in_read_model(pool: Pool, needles: Sequence[str]) -> dict[str, list[str]]:
    """Where each needle occurs in the read model: every column of every table, as text (JSON
    and arrays included, case-insensitive), and bytea columns as bytes."""
    found: dict[str, list[str]] = defaultdict(list)
    for column in await pool.fetch(_COLUMNS):
        table, name = _quoted(column["table_name"]), _quoted(column["column_name"])
        if column["data_type"] == "bytea":
            condition = f"position(convert_to(n, 'UTF8') in {name}) > 0"
        else:
            condition = f"strpos(lower({name}::text), lower(n)) > 0"
        rows = await pool.fetch(
            f"SELECT n FROM unnest($1::text[]) AS n"
            f" WHERE EXISTS (SELECT 1 FROM {table} WHERE {condition})",
            list(needles),
        )
        for row in rows:
            found[row["n"]].append(f"{column['table_name']}.{column['column_name']}")
    return dict(found)


async def search_attribute_values(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The workflow's search attributes, each value as text."""
    described = await handle.describe()
    return [str(pair.value) for pair in described.typed_search_attributes]


def in_any(values: Iterable[str], needles: Sequence[str]) -> list[str]:
    return [n for n in needles if any(n.lower() in value.lower() for value in values)]
