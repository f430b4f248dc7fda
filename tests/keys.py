"""A fixed keyring for tests, so recorded histories stay decryptable; never used outside tests."""

import base64
import hashlib

from temporalio.converter import DataConverter

from infra.codec import Keyring, data_converter
from infra.person_keys import configured_person_keys
from infra.settings import get_settings

TEST_KEYS = "test-2026:" + base64.b64encode(hashlib.sha256(b"parcours test key").digest()).decode()
"""The keyring as `PARCOURS_CODEC_KEYS` spells it, for processes the tests configure."""
TEST_KEYRING = Keyring.parse(TEST_KEYS)

ENCRYPTED: DataConverter = data_converter(TEST_KEYRING)
"""The production converter (pydantic + AES-GCM) with the test keyring."""


def milestone_key() -> bytes:
    """The key the API in tests (and benches) fingerprints milestones under: the development
    person keys', so that a milestone sent straight to a workflow is the API's Update."""
    return configured_person_keys(get_settings()).milestone_key
