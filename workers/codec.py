"""AES-256-GCM payload encryption: with a key configured, Temporal stores case payloads only as ciphertext.

Keys rotate: a keyring holds several keys by key id, the first encrypts, and every payload names the id of the key
that encrypted it, so a payload written before a rotation still decrypts after it. Search attributes and workflow
IDs stay in clear, which is why they never carry personal data.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

# The keys live in workers.keys (no Temporal SDK there, for the CLI and the store); the codec's callers find them here.
from workers.keys import KEY_ID as KEY_ID
from workers.keys import InvalidKey as InvalidKey
from workers.keys import Keyring as Keyring
from workers.keys import derived_key_id as derived_key_id
from workers.keys import parse_key as parse_key

ENCODING = b"binary/encrypted-aes256gcm"
# What a payload in clear becomes where clear text is refused: no converter reads it, so it fails where it is used.
REFUSED_ENCODING = b"binary/unencrypted-refused-in-production"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class PayloadRefused(ValueError):
    """A payload cannot be decoded: an unknown key id, or a key that does not open it."""


class EncryptionCodec(PayloadCodec):
    """Encrypts under the keyring's first key; decrypts under whichever key the payload names.

    `refuse_plaintext` (production) refuses a payload that is not encrypted rather than passing it through: in
    production everything is written encrypted, so clear text comes from someone who went around the door (the
    Temporal CLI, a forged client). Raising would fail the workflow task, and a clear update or signal would then
    jam its workflow for good; instead the payload is handed on as one no converter reads (REFUSED_ENCODING), so
    the update is rejected, the signal dropped, the query failed, and the workflow carries on.
    """

    def __init__(self, keyring: Keyring, *, refuse_plaintext: bool = False) -> None:
        self._keyring = keyring
        self._refuse_plaintext = refuse_plaintext
        # Each key under its configured id and its derived one (what CASELOOP_ENCRYPTION_KEY wrote).
        self._ciphers: dict[str, AESGCM] = {}
        for key_id, key in reversed(keyring.keys):
            self._ciphers[derived_key_id(key)] = self._ciphers[key_id] = AESGCM(key)
        self._encoding_id = keyring.encoding_id.encode()

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._keyring.encoding_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: self._encoding_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """The payload as it was before encryption. One that is not encrypted comes back as it is, or, where clear
        text is refused, as an unreadable REFUSED_ENCODING payload. Raises PayloadRefused naming the key id, never
        the key."""
        if not is_encrypted(payload):
            if self._refuse_plaintext:
                return Payload(metadata={"encoding": REFUSED_ENCODING})
            return payload  # written before encryption was turned on
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadRefused(
                f"the payload was encrypted under key id {key_id!r}, which is not among the configured keys "
                f"({', '.join(self._keyring.ids)}): add that key to CASELOOP_ENCRYPTION_KEYS"
            )
        try:
            clear = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadRefused(
                f"the payload under key id {key_id!r} does not decrypt with the key configured under that id: "
                "the key was changed without changing its id, or the payload was altered"
            ) from None
        inner = Payload()
        inner.ParseFromString(clear)
        return inner


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def data_converter(keyring: Keyring | str | None, *, refuse_plaintext: bool = False) -> DataConverter:
    """The project's converter: pydantic always, AES-GCM on top when keys are configured (a Keyring, or one
    base64 key as CASELOOP_ENCRYPTION_KEY gives it).

    With keys, a failure's message and stack trace travel as an encoded payload too: they quote what a command
    carried, so in clear they would put personal data in the history beside the ciphertext.
    """
    if not keyring:
        return pydantic_data_converter
    if isinstance(keyring, str):
        keyring = Keyring.single(keyring)
    codec = EncryptionCodec(keyring, refuse_plaintext=refuse_plaintext)
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
