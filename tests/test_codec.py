"""Payload encryption: what Temporal stores is ciphertext, and rotating keys loses nothing."""

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from infra.codec import (
    DEV_KEY_FILE,
    ENCODING,
    EncryptionCodec,
    Keyring,
    KeyringError,
    UnknownKeyError,
    configured_keyring,
    data_converter,
    ensure_dev_keyring,
)
from infra.conversion import PayloadRefused
from infra.sealed import UNDECRYPTABLE, UNSEALED
from infra.settings import Settings
from trajectory.programmes import load_programme
from trajectory.requests import PauseRequest
from trajectory.state import TrajectoryInput


def _spec(*key_ids: str) -> str:
    return ",".join(f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}" for key_id in key_ids)


def _trajectory_input() -> TrajectoryInput:
    return TrajectoryInput(
        participant_id="p-0123456789abcdef0123",
        programme=load_programme("jes"),
        postcode="1080",
        language="fr",
    )


async def test_a_trajectory_input_is_stored_encrypted_and_reads_back_the_same() -> None:
    converter = data_converter(Keyring.generate("k1"))
    original = _trajectory_input()

    [payload] = await converter.encode([original])

    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata["encryption-key-id"] == b"k1"
    assert b"p-0123456789abcdef0123" not in payload.data
    assert b"jes" not in payload.data
    assert await converter.decode([payload], [TrajectoryInput]) == [original]


async def test_two_encryptions_of_the_same_value_differ() -> None:
    codec = EncryptionCodec(Keyring.generate("k1"))
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"1080"')

    first, second = await codec.encode([clear, clear])

    assert first.data != second.data


async def test_after_rotation_payloads_of_the_old_key_still_decrypt() -> None:
    spec_k1 = _spec("k1")
    before = EncryptionCodec(Keyring.parse(spec_k1))
    [old] = await before.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"42")])

    rotated = Keyring.parse(f"{_spec('k2')},{spec_k1}")
    after = EncryptionCodec(rotated)
    [new] = await after.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"43")])

    assert rotated.current == "k2"
    assert new.metadata["encryption-key-id"] == b"k2"
    assert [p.data for p in await after.decode([old, new])] == [b"42", b"43"]


async def test_a_payload_under_a_key_no_longer_configured_fails_with_a_clear_error() -> None:
    [payload] = await data_converter(Keyring.generate("k0")).encode([42])
    converter = data_converter(Keyring.generate("k1"))
    codec = converter.payload_codec
    assert isinstance(codec, EncryptionCodec)

    with pytest.raises(UnknownKeyError, match=r"no key 'k0' in the keyring \(it holds k1\)"):
        await codec.decrypt([payload])
    with pytest.raises(ValueError, match=r"cannot decrypt a payload: no key 'k0' in the keyring"):
        await converter.decode([payload], [int])


async def test_a_tampered_payload_is_refused() -> None:
    converter = data_converter(Keyring.generate("k1"))
    codec = converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    [payload] = await converter.encode([42])
    payload.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])

    with pytest.raises(ValueError, match="fails authentication"):
        await codec.decrypt([payload])
    with pytest.raises(ValueError, match=r"cannot decrypt a payload: .* fails authentication"):
        await converter.decode([payload], [int])


async def test_decoding_inside_the_worker_never_raises_it_marks_what_it_cannot_open() -> None:
    [foreign] = await EncryptionCodec(Keyring.generate("k0")).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"42")]
    )

    [marked] = await EncryptionCodec(Keyring.generate("k1")).decode([foreign])

    assert marked.data == foreign.data
    assert marked.metadata[UNDECRYPTABLE].startswith(b"no key 'k0' in the keyring")


async def test_payloads_in_other_encodings_pass_through_marked_as_unsealed() -> None:
    codec = EncryptionCodec(Keyring.generate("k1"))
    recorded_before_encryption = Payload(metadata={"encoding": b"json/plain"}, data=b'"fr"')
    compressed_by_another_codec = Payload(metadata={"encoding": b"binary/zlib"}, data=b"x\x9c")

    decoded = await codec.decode([recorded_before_encryption, compressed_by_another_codec])

    assert [p.data for p in decoded] == [b'"fr"', b"x\x9c"]
    assert [p.metadata["encoding"] for p in decoded] == [b"json/plain", b"binary/zlib"]
    assert all(p.metadata[UNSEALED] == b"not encrypted" for p in decoded)


async def test_failure_messages_are_encrypted_too() -> None:
    converter = data_converter(Keyring.generate("k1"))
    failure = Failure()

    await converter.encode_failure(ApplicationError("no participant p-42", type="X"), failure)

    assert "p-42" not in failure.message
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    decoded = await converter.decode_failure(failure)
    assert "no participant p-42" in str(decoded)


async def test_the_encrypted_converter_still_speaks_pydantic() -> None:
    converter = data_converter(Keyring.generate("k1"))
    pause = PauseRequest(reason="hospital stay")

    [decoded] = await converter.decode(await converter.encode([pause]), [PauseRequest])

    assert decoded == pause


async def test_a_refused_payload_names_the_field_not_the_value() -> None:
    converter = data_converter(Keyring.generate("k1"))
    [payload] = await pydantic_data_converter.encode([{"reason": 12345678901}])

    with pytest.raises(PayloadRefused) as refused:
        await converter.decode([payload], [PauseRequest])

    assert "reason" in str(refused.value)
    assert "12345678901" not in str(refused.value)


def test_keys_come_from_the_environment_current_first() -> None:
    settings = Settings(PARCOURS_CODEC_KEYS=_spec("2026-06", "2026-01"))

    keyring = configured_keyring(settings)

    assert keyring.current == "2026-06"
    assert sorted(keyring.keys) == ["2026-01", "2026-06"]
    assert "PARCOURS_CODEC_KEYS" not in repr(settings)
    assert base64.b64encode(keyring.keys["2026-06"]).decode() not in repr(settings)
    assert "keys" not in repr(keyring)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("k1", "id:BASE64"),
        ("k1:not-base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"{_spec('k1')},{_spec('k1')}", "distinct ids"),
        (_spec("bad id"), "key id"),
    ],
    ids=["no key", "not base64", "short key", "an id twice", "bad id"],  # keys are random
)
def test_malformed_keys_are_refused_with_the_reason(spec: str, problem: str) -> None:
    with pytest.raises(KeyringError, match=problem):
        Keyring.parse(spec)


def test_development_generates_one_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    first = ensure_dev_keyring(tmp_path)
    second = ensure_dev_keyring(tmp_path)

    assert first == second
    assert stat.S_IMODE((tmp_path / DEV_KEY_FILE).stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [DEV_KEY_FILE]


def test_production_refuses_the_development_key_file(tmp_path: Path) -> None:
    ensure_dev_keyring(tmp_path)

    with pytest.raises(ValidationError, match="PARCOURS_CODEC_KEYS is required in production"):
        Settings(
            PARCOURS_ENV="production",
            DATABASE_URL="postgresql://db.invalid/parcours",
            PARCOURS_DATA_DIR=tmp_path,
        )
    # Settings copied without validation still find no key.
    unchecked = Settings(PARCOURS_DATA_DIR=tmp_path).model_copy(
        update={"environment": "production"}
    )
    with pytest.raises(KeyringError, match="PARCOURS_CODEC_KEYS is required in production"):
        configured_keyring(unchecked)
