"""Declarative base with a naming convention, and the shared column types: aware instants, sealed personal data."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import DateTime, MetaData, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.operators import OperatorType

from workers.keys import Keyring, derived_key_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AwareDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always returns timezone-aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only accepts timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Personal fields at rest. A sealed value names the key that sealed it, so it still opens after a rotation; a value
# written without a key (development) carries the clear mark, so a key configured later can seal it in place.
SEALED_MARK = "enc1:"  # enc1:<key id>:<base64 of nonce + AES-GCM ciphertext>
CLEAR_MARK = "clear:"  # clear:<text>
_FIELD_KEY_INFO = b"caseloop store fields v1"  # the store's keys are derived from the payload keys, never reused
_NONCE_BYTES = 12
_CIPHER_ATTRIBUTE = "caseloop_field_cipher"


class SealedFieldRefused(ValueError):
    """A stored value cannot be opened: sealed under a key id that is not configured, or altered."""


class FieldCipher:
    """Seals text under the keyring's first key and opens it under whichever key it names.

    Each key of the payload keyring yields a store key by HKDF, so the same material serves both without one
    ciphertext ever passing for the other; the purpose (table.column) is bound in too, so a sealed phone does not
    open as a title.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._ciphers: dict[str, AESGCM] = {}
        for key_id, key in reversed(keyring.keys):
            store_key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_FIELD_KEY_INFO).derive(key)
            self._ciphers[derived_key_id(key)] = self._ciphers[key_id] = AESGCM(store_key)
        self._encoding_id = keyring.encoding_id
        self._ids = keyring.ids

    @property
    def encoding_id(self) -> str:
        return self._encoding_id

    def seal(self, text: str, purpose: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self._encoding_id].encrypt(nonce, text.encode(), purpose.encode())
        return f"{SEALED_MARK}{self._encoding_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, purpose: str) -> str:
        key_id, _, encoded = stored.removeprefix(SEALED_MARK).partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealedFieldRefused(
                f"a {purpose} value is sealed under key id {key_id!r}, which is not among the configured keys "
                f"({', '.join(self._ids)}): add that key to CASELOOP_ENCRYPTION_KEYS"
            )
        try:
            data = base64.b64decode(encoded, validate=True)
            return cipher.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], purpose.encode()).decode()
        except (ValueError, InvalidTag):
            raise SealedFieldRefused(
                f"a {purpose} value under key id {key_id!r} does not open with the key configured under that id: "
                "the key was changed without changing its id, or the value was altered"
            ) from None


def attach_field_cipher(dialect: Dialect, cipher: FieldCipher | None) -> None:
    """Gives an engine's sealed columns their cipher; the dialect is the engine's own, so engines never share one."""
    setattr(dialect, _CIPHER_ATTRIBUTE, cipher)


def field_cipher(dialect: Dialect) -> FieldCipher | None:
    return getattr(dialect, _CIPHER_ATTRIBUTE, None)


def seal(text: str, purpose: str, cipher: FieldCipher | None) -> str:
    return cipher.seal(text, purpose) if cipher is not None else CLEAR_MARK + text


def unseal(stored: str, purpose: str, cipher: FieldCipher | None) -> str:
    """The text of a stored value: sealed, marked clear, or unmarked (written before sealing existed)."""
    if stored.startswith(SEALED_MARK):
        if cipher is None:
            key_id = stored.removeprefix(SEALED_MARK).partition(":")[0]
            raise SealedFieldRefused(
                f"a {purpose} value is sealed under key id {key_id!r} and no key is configured: "
                "set CASELOOP_ENCRYPTION_KEYS (or CASELOOP_ENCRYPTION_KEY)"
            )
        return cipher.open(stored, purpose)
    return stored.removeprefix(CLEAR_MARK)


def sealed_under(stored: str) -> str | None:
    """The key id a stored value is sealed under; None when it is in clear."""
    return stored.removeprefix(SEALED_MARK).partition(":")[0] if stored.startswith(SEALED_MARK) else None


class _NotComparable(TypeDecorator.Comparator[Any]):
    """A sealed column cannot be searched: each value is sealed under its own nonce. Only NULL tests make sense."""

    def operate(self, op: OperatorType, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
        if op in (operators.is_, operators.is_not):
            return super().operate(op, *other, **kwargs)
        raise TypeError(f"{self.expr} is sealed at rest and cannot be compared or sorted in SQL")


class SealedText(TypeDecorator[str]):
    """Text sealed with AES-GCM under the engine's newest key (see FieldCipher); clear-marked without a key.

    Never for a column that is looked up by value: the store only ever sees ciphertext.
    """

    impl = Text
    cache_ok = True
    comparator_factory = _NotComparable

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value, self.purpose, field_cipher(dialect))

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value, self.purpose, field_cipher(dialect))


class SealedJSON(TypeDecorator[Any]):
    """A JSON document sealed as SealedText seals text."""

    impl = Text
    cache_ok = True
    comparator_factory = _NotComparable

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return seal(text, self.purpose, field_cipher(dialect))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(unseal(value, self.purpose, field_cipher(dialect)))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: AwareDateTime}
