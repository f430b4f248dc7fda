"""The OpenAPI description where the request models alone cannot say what the API takes.

A milestone's payload depends on its `type`, which one model with a union of payloads cannot
say: the description gives the milestone body as one schema per payload model, picked by `type`
(`oneOf` with a discriminator), so a client generated from it sends `coach_assigned` with a
`coach_ref` and a `follow_up_contact` with `in_employment`, as the API expects.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from trajectory.milestones import PAYLOADS, MilestoneType, NoDetails

MILESTONE = "Milestone"
"""The component of the milestone body, as FastAPI derives it from `Milestone`."""


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def milestone_by_type(schemas: dict[str, Any]) -> None:
    """Make the `Milestone` component a choice, by `type`, of one variant per payload model."""
    derived = schemas[MILESTONE]
    types: dict[str, list[str]] = {}
    for kind in MilestoneType:
        types.setdefault(PAYLOADS.get(kind, NoDetails).__name__, []).append(kind.value)
    mapping: dict[str, str] = {}
    for payload, kinds in types.items():
        name = f"{payload}Milestone"
        takes_details = bool(schemas[payload].get("required"))
        schemas[name] = {
            "type": "object",
            "title": name,
            "properties": {
                **derived["properties"],
                "type": {"type": "string", "enum": kinds},
                "payload": {"$ref": _ref(payload)},
            },
            "required": [*derived["required"], *(["payload"] if takes_details else [])],
            "additionalProperties": False,
        }
        mapping |= {kind: _ref(name) for kind in kinds}
    schemas[MILESTONE] = {
        "title": derived["title"],
        "description": f"{derived['description']}\n\nIts `payload` depends on its `type`.",
        "oneOf": [{"$ref": _ref(f"{payload}Milestone")} for payload in types],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }


def described(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with the milestone body by type; built once, like FastAPI's own."""
    derive = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            milestone_by_type(derive()["components"]["schemas"])
        assert app.openapi_schema is not None
        return app.openapi_schema

    return openapi
