"""A history as a person with the payload key would read it: every payload decrypted."""

from collections.abc import Iterator

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory

from infra.codec import EncryptionCodec
from tests.keys import ENCRYPTED


def payloads(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every payload inside `message`, with the field path that leads to it."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        where = f"{path}.{field.name}"
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            yield from payloads(value, where)
        elif field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    yield from payloads(item, f"{where}[{key}]")
        else:
            for index, item in enumerate(value):
                yield from payloads(item, f"{where}[{index}]")


async def decrypted_text(history: WorkflowHistory) -> str:
    """The data of every payload of `history`, decrypted with the test key, as one text."""
    codec = ENCRYPTED.payload_codec
    assert isinstance(codec, EncryptionCodec)
    found = [payload for event in history.events for _, payload in payloads(event)]
    decoded = await codec.decrypt(found)
    return "\n".join(payload.data.decode("utf-8", "replace") for payload in decoded)
