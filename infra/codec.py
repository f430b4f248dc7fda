"""AES-256-GCM encryption of every Temporal payload, with key ids for rotation (DESIGN §5, §6).

A payload is encrypted with the keyring's current key and tagged with that key's id; decoding
picks the key by the id it finds, so payloads written under an older key stay readable after
rotation. Payloads in another encoding (histories recorded before encryption, or sent by
someone without the key), and payloads that fail to decrypt, pass through marked, for the
worker to refuse where it matters (`infra.sealed`).

Keys come from `PARCOURS_CODEC_KEYS` (`k2:BASE64,k1:BASE64`, the first is current); in
development a key file under the data directory is generated once and used when that is unset.

AES-GCM under random 96-bit nonces stays safe for 2^32 encryptions per key (NIST SP 800-38D,
8.3): each process counts its encryptions per key id (`ENCRYPTIONS`), and the long-running ones
add them to PostgreSQL (`readmodel.key_uses`), where the total per key outlives the processes.
"""

import base64
import binascii
import json
import os
import re
import secrets
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field, model_validator
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from infra.sealed import UNDECRYPTABLE, UNSEALED, SealedInputConverter
from infra.settings import ConfigurationError, Settings

ENCODING = b"binary/encrypted"
"""The `encoding` metadata of a payload this codec encrypted."""
NULL_ENCODING = b"binary/null"
"""What the SDK writes for None: carries no data, so there is nothing to seal or forge."""
KEY_ID_METADATA = "encryption-key-id"
DEV_KEY_FILE = "codec-keys.json"
KEY_BYTES = 32
NONCE_BYTES = 12

ENCRYPTION_BUDGET = 2**32
"""Encryptions one AES-GCM key may make under random 96-bit nonces (NIST SP 800-38D, 8.3)."""

_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyringError(ConfigurationError, ValueError):
    """Keys that are missing, malformed or not allowed here; the message says what to fix."""


class UnknownKeyError(LookupError):
    """A payload encrypted under a key id the keyring does not hold."""


class Keyring(BaseModel):
    """The current key id and every key still needed to decrypt, by id; never printed."""

    model_config = ConfigDict(frozen=True)

    current: str
    keys: dict[str, bytes] = Field(repr=False)

    @model_validator(mode="after")
    def _usable(self) -> "Keyring":
        for key_id, key in self.keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(f"key id {key_id!r}: use letters, digits, '.', '_', '-'")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id}: an AES-256 key has {KEY_BYTES} bytes")
        if self.current not in self.keys:
            raise ValueError(f"the current key {self.current!r} is not in the keyring")
        return self

    @classmethod
    def generate(cls, key_id: str) -> "Keyring":
        """A keyring holding one new random key."""
        return cls(current=key_id, keys={key_id: AESGCM.generate_key(bit_length=KEY_BYTES * 8)})

    @classmethod
    def parse(cls, spec: str, setting: str = "PARCOURS_CODEC_KEYS") -> "Keyring":
        """Read `id:BASE64,id:BASE64,...`; the first key is the current one.

        `setting` names where the spec came from, in the error that says how to fix it.
        """
        keys: dict[str, bytes] = {}
        for entry in (part.strip() for part in spec.split(",")):
            key_id, sep, encoded = entry.partition(":")
            if not sep or key_id in keys:
                raise KeyringError(
                    f"{setting} reads id:BASE64,id:BASE64 with distinct ids, current first"
                )
            keys[key_id] = _base64(encoded, key_id)
        return cls._checked(next(iter(keys)), keys)

    @classmethod
    def load(cls, path: Path) -> "Keyring":
        """Read a key file: `{"current": ID, "keys": {ID: BASE64, ...}}`."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            current, encoded = str(document["current"]), dict(document["keys"])
        except (ValueError, KeyError, TypeError) as error:
            raise KeyringError(f"{path} is not a key file ({error.__class__.__name__})") from None
        keys = {str(key_id): _base64(str(value), key_id) for key_id, value in encoded.items()}
        return cls._checked(current, keys)

    @classmethod
    def _checked(cls, current: str, keys: dict[str, bytes]) -> "Keyring":
        try:
            return cls(current=current, keys=keys)
        except ValueError as error:
            raise KeyringError(str(error)) from None

    def dump(self) -> str:
        """The key file form of this keyring."""
        encoded = {key_id: base64.b64encode(key).decode() for key_id, key in self.keys.items()}
        return json.dumps({"current": self.current, "keys": encoded}, indent=2) + "\n"

    def key(self, key_id: str) -> bytes:
        """The key named `key_id`."""
        try:
            return self.keys[key_id]
        except KeyError:
            known = ", ".join(sorted(self.keys))
            raise UnknownKeyError(
                f"no key {key_id!r} in the keyring (it holds {known}); "
                "keep retired keys configured while data encrypted with them exists"
            ) from None

    def derive(self, purpose: str) -> "Keyring":
        """The same ids with keys derived for `purpose` (HKDF-SHA256), independent of these."""
        derived = {
            key_id: HKDF(
                algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
            ).derive(key)
            for key_id, key in self.keys.items()
        }
        return Keyring(current=self.current, keys=derived)


def _base64(encoded: str, key_id: str) -> bytes:
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise KeyringError(f"key {key_id}: not valid base64") from None


class Encryptions:
    """The payload encryptions this process made, by key id, since they were last taken."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, key_id: str, encryptions: int) -> None:
        with self._lock:
            self._counts[key_id] += encryptions

    def take(self) -> dict[str, int]:
        """The counts so far, which start again from zero."""
        with self._lock:
            taken = dict(self._counts)
            self._counts.clear()
        return taken

    def give_back(self, counts: Mapping[str, int]) -> None:
        """Counts taken that could not be stored: they are taken again next time."""
        with self._lock:
            self._counts.update(counts)


ENCRYPTIONS = Encryptions()
"""This process's payload encryptions (every `EncryptionCodec` of the process counts here)."""


def seal(key: bytes, plaintext: bytes, associated_data: bytes | None = None) -> bytes:
    """Encrypt with AES-256-GCM under a fresh random nonce; the nonce leads the result."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def unseal(key: bytes, sealed: bytes, associated_data: bytes | None = None) -> bytes:
    """Decrypt what `seal` produced; raises `cryptography.exceptions.InvalidTag` if tampered."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)


class EncryptionCodec(PayloadCodec):
    """Encrypts payloads with the current key, decrypts with the key their id names."""

    def __init__(self, keyring: Keyring) -> None:
        super().__init__()
        self._keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._keyring.current
        key = self._keyring.key(key_id)
        ENCRYPTIONS.count(key_id, len(payloads))
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
                data=seal(key, payload.SerializeToString()),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt what this codec sealed and mark everything else, never raising: a decode
        error inside a workflow activation fails the task again and again. The converter
        decides what a marked payload may still be used for (`infra.sealed`)."""
        return [self._open(payload) for payload in payloads]

    async def decrypt(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt what this codec sealed, pass the rest through as it is; raises
        `UnknownKeyError` or `ValueError` (tampered) for what cannot be decrypted."""
        return [self._decrypt(payload) for payload in payloads]

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if payload.metadata.get("encoding") == NULL_ENCODING and not payload.data:
                return payload
            return _marked(payload, UNSEALED, "not encrypted")
        try:
            return self._decrypt(payload)
        except (UnknownKeyError, ValueError) as error:
            return _marked(payload, UNDECRYPTABLE, str(error))

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
        try:
            plaintext = unseal(self._keyring.key(key_id), payload.data)
        except InvalidTag:
            raise ValueError(f"a payload under key {key_id!r} fails authentication") from None
        opened = Payload.FromString(plaintext)
        for mark in (UNSEALED, UNDECRYPTABLE):  # only a key holder could have put them there
            if mark in opened.metadata:
                del opened.metadata[mark]
        return opened


def _marked(payload: Payload, mark: str, why: str) -> Payload:
    """A copy of `payload` whose metadata says it did not come sealed by this codec, and why."""
    marked = Payload()
    marked.CopyFrom(payload)
    marked.metadata[mark] = why.encode()
    return marked


def data_converter(keyring: Keyring) -> DataConverter:
    """Pydantic payloads, encrypted; failure messages and stack traces are encrypted too.

    A workflow refuses inputs that were not encrypted (`infra.sealed`), and decoding errors name
    fields, never values (`infra.conversion`).
    """
    return DataConverter(
        payload_converter_class=SealedInputConverter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def ensure_dev_keyring(data_dir: Path, file_name: str = DEV_KEY_FILE) -> Keyring:
    """The development keyring `file_name` under `data_dir`, generated on first use (mode 0600).

    Processes starting together agree on one key: the file appears complete or not at all.
    """
    path = data_dir / file_name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{file_name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(Keyring.generate(f"dev-{secrets.token_hex(3)}").dump())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return Keyring.load(path)


@cache
def configured_keyring(settings: Settings) -> Keyring:
    """The keyring of this process: `PARCOURS_CODEC_KEYS`, else the development key file."""
    if settings.codec_keys is not None:
        return Keyring.parse(settings.codec_keys.get_secret_value())
    if settings.environment == "production":
        raise KeyringError(
            "PARCOURS_CODEC_KEYS is required in production; the development key file "
            f"{settings.data_dir / DEV_KEY_FILE} is for development only"
        )
    return ensure_dev_keyring(settings.data_dir)
