"""The requester's verification code: short, derived from the case id under the door's pepper, never stored.

Derived rather than drawn, so a repeated intake answers the same code and nothing secret sits in the store; a
rotated pepper keeps old codes valid for as long as the old pepper stays configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

CODE_CHARS = 8  # 40 bits: guessing is bounded by the lookup's rate limit, not by the code alone
_PURPOSE = b"caseloop.status-code."


def _code(pepper: bytes, case_id: str) -> str:
    digest = hmac.new(pepper, _PURPOSE + case_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:CODE_CHARS]


def verification_code(peppers: Sequence[tuple[str, bytes]], case_id: str) -> str:
    """The code under the newest pepper."""
    return _code(peppers[0][1], case_id)


def verifies(peppers: Sequence[tuple[str, bytes]], case_id: str, code: str) -> bool:
    given = code.strip().upper().encode()
    return any(hmac.compare_digest(_code(pepper, case_id).encode(), given) for _, pepper in peppers)
