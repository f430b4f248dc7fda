"""The keys that guard personal data: they wrap each person's data key and key the fingerprints
of national numbers and of milestones (DESIGN §6).

They come from `PARCOURS_PERSON_KEYS` (`id:BASE64,...`, current first), a keyring of its own
that the worker, the API and the command line hold and the codec server never does: whoever
can decrypt payloads for the Web UI cannot unwrap a person's data key, nor tell whose a
fingerprint is. Data keys wrapped before that setting existed were wrapped under keys derived
from the payload keyring (`PARCOURS_CODEC_KEYS`); each row says which keyring wrapped it, so
those still open until `python -m starter persons rewrap` moves them under the current key.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from infra.codec import Keyring, KeyringError, configured_keyring, ensure_dev_keyring, seal, unseal
from infra.settings import Settings, get_settings

SETTING = "PARCOURS_PERSON_KEYS"
DEV_KEY_FILE = "person-keys.json"
WRAP_PURPOSE = "parcours/person-data-keys"
"""Wrapping keys are derived from the keyring for this purpose alone."""
FINGERPRINT_PURPOSE = "parcours/person-fingerprints"
"""Fingerprint keys are derived for this purpose alone: they neither decrypt nor unwrap."""
MILESTONE_PURPOSE = "parcours/milestone-fingerprints"
"""The key of milestone fingerprints (`Milestone.fingerprint`), derived for that alone."""

KeyringName = Literal["person_keys", "codec_keys"]
"""Which keyring a stored key or fingerprint is under: `PARCOURS_PERSON_KEYS`, or (rows from
before it) `PARCOURS_CODEC_KEYS`."""


def _digits(national_number: str) -> bytes:
    return re.sub(r"[^0-9]", "", national_number).encode()


def _ordered(keyring: Keyring) -> list[str]:
    """Key ids, the current one first."""
    return [keyring.current, *(key_id for key_id in keyring.keys if key_id != keyring.current)]


@dataclass(frozen=True)
class PersonKeys:
    """Wrapping and fingerprint keys from the person keyring, and the payload keyring's for
    rows stored before the person keyring existed (None: there are none to open)."""

    wrapping: Keyring
    fingerprinting: Keyring
    milestones: Keyring
    legacy_wrapping: Keyring | None = None
    legacy_fingerprinting: Keyring | None = None

    @classmethod
    def of(cls, person: Keyring, codec: Keyring | None = None) -> "PersonKeys":
        """The keys derived from `person`, and from `codec` for older rows."""
        return cls(
            wrapping=person.derive(WRAP_PURPOSE),
            fingerprinting=person.derive(FINGERPRINT_PURPOSE),
            milestones=person.derive(MILESTONE_PURPOSE),
            legacy_wrapping=codec.derive(WRAP_PURPOSE) if codec else None,
            legacy_fingerprinting=codec.derive(FINGERPRINT_PURPOSE) if codec else None,
        )

    @property
    def current(self) -> str:
        """The id of the person key that wraps and fingerprints from now on."""
        return self.wrapping.current

    @property
    def milestone_key(self) -> bytes:
        """The key the API fingerprints milestones under (`RecordMilestone.of`)."""
        return self.milestones.key(self.current)

    @property
    def earlier_milestone_keys(self) -> list[bytes]:
        """The milestone keys of the person keys kept after a rotation: a milestone sent
        before it and again after it was fingerprinted under one of them."""
        return [self.milestones.key(key_id) for key_id in _ordered(self.milestones)[1:]]

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """`data_key` sealed under the current person key, bound to `context`."""
        return seal(self.wrapping.key(self.current), data_key, context)

    def unwrap(self, keyring: KeyringName, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        """The data key `wrapped` under `keyring`'s key `key_id`."""
        return unseal(self._wrapping(keyring).key(key_id), wrapped, context)

    def _wrapping(self, keyring: KeyringName) -> Keyring:
        if keyring == "person_keys":
            return self.wrapping
        if self.legacy_wrapping is None:
            raise KeyringError("a person key is wrapped under PARCOURS_CODEC_KEYS; configure it")
        return self.legacy_wrapping

    def fingerprint(self, national_number: str) -> bytes:
        """The keyed hash (HMAC-SHA256) of the number's digits under the current person key."""
        return self.fingerprints(national_number)[0]

    def fingerprints(self, national_number: str) -> list[bytes]:
        """The number's fingerprint under every key that may have made one, the current first.

        The same person always gives the same fingerprint under one key, and nobody without the
        key can tell whose it is; older keys still find people fingerprinted before a rotation.
        """
        return self._hashes(_digits(national_number))

    def contact_fingerprints(self, address: str) -> list[bytes]:
        """A phone number's or e-mail address's keyed hash under every key, the current first
        (an SMS STOP is matched by it); apart from national numbers by a prefix."""
        return self._hashes(b"contact:" + address.encode())

    def _hashes(self, text: bytes) -> list[bytes]:
        keyrings = [self.fingerprinting, self.legacy_fingerprinting]
        return [
            hmac.new(keyring.key(key_id), text, hashlib.sha256).digest()
            for keyring in keyrings
            if keyring is not None
            for key_id in _ordered(keyring)
        ]


def person_keyring(settings: Settings) -> Keyring:
    """`PARCOURS_PERSON_KEYS`, else (in development only) the key file under the data directory."""
    if settings.person_keys is not None:
        return Keyring.parse(settings.person_keys.get_secret_value(), SETTING)
    if settings.environment == "production":
        raise KeyringError(
            f"{SETTING} is required in production for the worker, the API and the command line: "
            "set it to the keys that wrap each person's data key, id:BASE64,... with the current "
            "key first, apart from the payload keys the codec server holds"
        )
    return ensure_dev_keyring(settings.data_dir, DEV_KEY_FILE)


@cache
def configured_person_keys(settings: Settings) -> PersonKeys:
    """The person keys of this process, with the payload keyring for rows from before them."""
    return PersonKeys.of(person_keyring(settings), configured_keyring(settings))


def default_person_keys(keys: PersonKeys | None) -> PersonKeys:
    """`keys`, or this process's configured ones."""
    return keys or configured_person_keys(get_settings())


def keep_from_codec_server(settings: Settings) -> None:
    """Refuse to run a codec server that was given the person keys.

    The codec server decrypts payloads for whoever may read the Web UI; with the person keys it
    could also unwrap every person's data key, which is what keeping them apart prevents.
    """
    if settings.person_keys is not None:
        raise KeyringError(
            f"{SETTING} must not reach the codec server: remove it from the codec server's "
            "environment (only the worker, the API and the command line need it)"
        )
