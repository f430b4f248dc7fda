"""Pydantic payloads whose decoding errors name fields, never the values in them.

Pydantic's `ValidationError` quotes each refused `input_value`; the SDK logs a failed decode
with its cause at every attempt, so a participant's text sent from the Temporal CLI, or a
payload a changed model refuses, would reach the worker's log. Here it becomes a
`PayloadRefused` that keeps the locations and reasons only.
"""

from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter


class PayloadRefused(ValueError):
    """A payload the expected type refuses; the message holds no input value."""


def without_values(error: ValidationError) -> str:
    """`error` as `location: reason` pairs, without the refused input."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}"
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    return f"{error.title} refused: " + "; ".join(problems)


class _JSONWithoutValues(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as error:
            raise PayloadRefused(without_values(error)) from None


class PayloadConverter(PydanticPayloadConverter):
    """The SDK's pydantic converter, with decoding errors that hold no personal data."""

    def __init__(self) -> None:
        super().__init__()
        json = _JSONWithoutValues()
        self.converters = {
            encoding: json
            if isinstance(converter, PydanticJSONPlainPayloadConverter)
            else converter
            for encoding, converter in self.converters.items()
        }
