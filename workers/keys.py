"""Encryption keys as settings name them: parsing, derived ids and the keyring.

Apart from the payload codec (workers.codec) so that reading the settings or the store's sealed columns does not
import the Temporal SDK: every CLI start reads the settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class InvalidKey(ValueError):
    """A configured key is not a base64-encoded 32-byte AES key, or the keyring is malformed."""


def parse_key(encoded: str, *, name: str = "encryption_key") -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKey(f"{name} must be base64 (e.g. `openssl rand -base64 32`)") from None
    if len(key) != 32:
        raise InvalidKey(f"{name} must decode to 32 bytes for AES-256, not {len(key)}")
    return key


def derived_key_id(key: bytes) -> str:
    """The id a key goes by when none is given: a digest prefix, which names the key without revealing it.

    It is what payloads written under the single CASELOOP_ENCRYPTION_KEY carry, so they decode after a rotation.
    """
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """Keys by id, the first the one that encrypts. Every key also answers to its derived id."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)  # a traceback or a log line never shows a key

    def __post_init__(self) -> None:
        if not self.keys:
            raise InvalidKey("a keyring needs at least one key")
        names: dict[str, bytes] = {}
        for key_id, key in self.keys:
            if key_id in names:
                raise InvalidKey(f"encryption_keys: the key id {key_id} appears twice")
            names[key_id] = key
        for key_id, key in self.keys:
            derived = derived_key_id(key)
            if names.get(derived, key) != key:
                raise InvalidKey(f"encryption_keys: the key id {derived} is the derived id of key {key_id}")

    @classmethod
    def single(cls, encoded: str) -> Keyring:
        """CASELOOP_ENCRYPTION_KEY: one key under its derived id."""
        key = parse_key(encoded)
        return cls(((derived_key_id(key), key),))

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """CASELOOP_ENCRYPTION_KEYS: `id:base64,id:base64`, the first encrypting; an entry without `id:` goes by
        its derived id. Neither base64 nor an id holds a colon, so one colon splits the two."""
        keys: list[tuple[str, bytes]] = []
        for part in (piece.strip() for piece in text.split(",")):
            key_id, colon, encoded = part.rpartition(":")
            if not colon:
                key = parse_key(encoded, name="encryption_keys")
                keys.append((derived_key_id(key), key))
                continue
            if not KEY_ID.fullmatch(key_id):
                raise InvalidKey(
                    "encryption_keys is a list of id:base64 separated by commas (id: 1 to 32 letters, digits, _ -)"
                )
            keys.append((key_id, parse_key(encoded, name=f"encryption_keys: the key {key_id}")))
        return cls(tuple(keys))

    @property
    def encoding_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]
