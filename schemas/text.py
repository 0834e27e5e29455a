"""Text hygiene every schema shares: free text, codes, references, case numbers and JSON packages, checked once.

A NUL, a stray control character or a bidi override is refused where text comes in, by the rule it breaks, so it
never reaches a workflow, a workflow ID or the store (PostgreSQL refuses NUL in text for good). What goes to the
store is scrubbed as well, for text that came in before these rules did.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue
from pydantic_core import PydanticCustomError

# Free text keeps its canonical form (NFC): compatibility folding (NFKC) would turn the full-width punctuation of
# Chinese prose, ，：（）, into ASCII. Codes, references and case numbers fold, so ＳＱ－ＦＧＷ is SQ-FGW.
FREE_TEXT_FORM: Final = "NFC"
IDENTIFIER_FORM: Final = "NFKC"

# The rules, as error types: the door answers them as `rule`, the SDK as `InputRejected.rule`.
CONTROL_CHARACTER = "text.control-character"
BIDI_CONTROL = "text.bidi-control"
FORMAT_CHARACTER = "text.format-character"
SURROGATE = "text.surrogate"
PATTERN_MISMATCH = "string_pattern_mismatch"  # pydantic's own name, which clients already know

# Explicit direction marks, embeddings, overrides and isolates: they reorder what a reader sees (Trojan Source).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# C0 (but tab and newline), DEL and C1 controls, and lone surrogates, which no UTF-8 store can hold.
_FREE_TEXT_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _refusal(rule: str, what: str, text: str, position: int) -> PydanticCustomError:
    # Name the character by code point, never quote the text: it may be a citizen's words.
    return PydanticCustomError(
        rule,
        "{what} U+{code_point} at position {position} is not allowed",
        {"what": what, "code_point": f"{ord(text[position]):04X}", "position": position},
    )


def _without_surrogates(text: str) -> None:
    lone = _SURROGATES.search(text)
    if lone is not None:
        raise _refusal(SURROGATE, "the lone surrogate", text, lone.start())


def canonical_text(text: str) -> str:
    """Free text as it is kept: its NFC form, with CRLF line breaks as LF."""
    return unicodedata.normalize(FREE_TEXT_FORM, text.replace("\r\n", "\n"))


def free_text(value: Any) -> Any:
    """Free text in its canonical form (`canonical_text`); refuses control characters but tab and newline."""
    if not isinstance(value, str):
        return value  # pydantic's own type check answers it
    _without_surrogates(value)
    text = canonical_text(value)
    refused = _FREE_TEXT_REFUSED.search(text)
    if refused is not None:
        raise _refusal(CONTROL_CHARACTER, "the control character", text, refused.start())
    return text


def identifier(value: Any) -> Any:
    """A code, reference, case number or command id in its NFKC form; refuses every control, bidi and format
    character (zero-width spaces and joiners, the byte order mark) and line or paragraph separators."""
    if not isinstance(value, str):
        return value
    _without_surrogates(value)
    text = unicodedata.normalize(IDENTIFIER_FORM, value)
    for position, character in enumerate(text):
        category = unicodedata.category(character)
        if category == "Cc" or category in ("Zl", "Zp"):
            raise _refusal(CONTROL_CHARACTER, "the control character", text, position)
        if character in BIDI_CONTROLS:
            raise _refusal(BIDI_CONTROL, "the bidi control", text, position)
        if category == "Cf":
            raise _refusal(FORMAT_CHARACTER, "the format character", text, position)
    return text


def full_match(pattern: str) -> AfterValidator:
    """Checks the whole value against `pattern` (`re.fullmatch`): `$` alone would let a trailing newline pass."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise PydanticCustomError(PATTERN_MISMATCH, "String should match pattern '{pattern}'", {"pattern": pattern})
        return value

    return AfterValidator(check)


def json_text(value: Any) -> Any:
    """Every string of a JSON value, keys included, as free text: the push package a receiver stores."""
    return _walk(value, free_text)


def _walk(value: Any, clean: Callable[[Any], Any]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(key): _walk(item, clean) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, clean) for item in value]
    return value


def scrubbed(value: Any) -> Any:
    """Text for the store: what free text refuses is replaced by U+FFFD instead, so a record written for a case
    that took such text before these rules is still written, and its case does not jam."""
    if not isinstance(value, str):
        return value
    return _FREE_TEXT_REFUSED.sub("\ufffd", value)


def scrubbed_json(value: Any) -> Any:
    return _walk(value, scrubbed)


CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
COMMAND_ID_PATTERN = r"^[!-~]+$"

# The markers a field's type ends with, after its length bounds: `Annotated[str, Field(max_length=500), FREE_TEXT]`.
# They run first and hand the bounds the normalised text, so the bounds keep pydantic's own rule names
# (string_too_long) and the OpenAPI document keeps them.
FREE_TEXT = BeforeValidator(free_text)
IDENTIFIER = BeforeValidator(identifier)
PACKAGE = AfterValidator(json_text)
STORED = AfterValidator(scrubbed)
STORED_JSON = AfterValidator(scrubbed_json)

# A registry code or a case number: ASCII letters, digits, dot, underscore and hyphen. Never `~`, which the case
# ID puts between the initiating system and its case number.
Code = Annotated[
    str, Field(pattern=CODE_PATTERN, description="[A-Za-z0-9._-]{1,64}"), IDENTIFIER, full_match(CODE_PATTERN)
]
# A client-chosen idempotency key: printable ASCII without spaces, as it travels in update IDs and headers.
CommandId = Annotated[
    str, Field(min_length=1, max_length=100, pattern=COMMAND_ID_PATTERN), IDENTIFIER, full_match(COMMAND_ID_PATTERN)
]
# Who sent a command, as the front door names the credential, e.g. key:<key id>.
Credential = Annotated[str, Field(max_length=200), IDENTIFIER]
# A JSON package (a push's payload, a feedback's details) whose every string, keys included, is free text.
Package = Annotated[dict[str, JsonValue], PACKAGE]
