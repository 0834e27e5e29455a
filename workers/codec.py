"""AES-256-GCM payload encryption: with a key configured, Temporal stores case payloads only as ciphertext.

Search attributes, workflow IDs and summaries stay in clear, which is why they never carry personal data.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

ENCODING = b"binary/encrypted-aes256gcm"
NONCE_BYTES = 12


class InvalidKey(ValueError):
    """The configured key is not a base64-encoded 32-byte AES key."""


def parse_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise InvalidKey("encryption_key must be base64 (e.g. `openssl rand -base64 32`)") from None
    if len(key) != 32:
        raise InvalidKey(f"encryption_key must decode to 32 bytes for AES-256, not {len(key)}")
    return key


class EncryptionCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        # The key id lets a reader tell which key encrypted a payload without revealing the key.
        self._key_id = hashlib.sha256(key).hexdigest()[:16].encode()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": ENCODING, "encryption-key-id": self._key_id},
                data=self._encrypt(payload.SerializeToString()),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # written before encryption was turned on
                continue
            if payload.metadata.get("encryption-key-id") != self._key_id:
                raise ValueError("payload was encrypted with another key than the one configured")
            inner = Payload()
            inner.ParseFromString(self._decrypt(payload.data))
            decoded.append(inner)
        return decoded

    def _encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, None)

    def _decrypt(self, data: bytes) -> bytes:
        return self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)


def data_converter(encryption_key: str | None) -> DataConverter:
    """The project's converter: pydantic always, AES-GCM on top when a key is configured."""
    if not encryption_key:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(parse_key(encryption_key)))
