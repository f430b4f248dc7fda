"""A fixed keyring for tests, so recorded histories stay decryptable; never used outside tests."""

import base64
import hashlib

from temporalio.converter import DataConverter

from infra.codec import Keyring, data_converter

TEST_KEYS = "test-2026:" + base64.b64encode(hashlib.sha256(b"parcours test key").digest()).decode()
"""The keyring as `PARCOURS_CODEC_KEYS` spells it, for processes the tests configure."""
TEST_KEYRING = Keyring.parse(TEST_KEYS)

ENCRYPTED: DataConverter = data_converter(TEST_KEYRING)
"""The production converter (pydantic + AES-GCM) with the test keyring."""
