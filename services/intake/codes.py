"""The requester's verification code: short, random, sealed in the store beside the case it opens."""

from __future__ import annotations

import hmac
import secrets

# No 0/O or 1/I/L: the requester reads it off an SMS and types it in.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_CHARS = 8  # ≈ 39 bits: guessing is bounded by the lookup's rate limit, not by the code alone


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))


def verifies(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode(), given.strip().upper().encode())
