"""Opaque page cursors: the sort key of the last item given, handed back for the next page."""

import base64
import binascii
import json

from api.errors import ApiError


def cursor_after(*key: str) -> str:
    """The cursor of a page that ended at `key`."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def cursor_key(cursor: str, size: int) -> list[str]:
    """The key a cursor points after; 422 for anything this API did not hand out."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if not (isinstance(key, list) and len(key) == size and all(isinstance(k, str) for k in key)):
        raise ApiError(422, "invalid_request", "cursor: not a cursor this API handed out")
    return key
