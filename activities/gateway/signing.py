"""How a push is signed, so a department can tell a caseloop push from a forgery or a replay."""

from __future__ import annotations

import hashlib
import hmac

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "X-Caseloop-Timestamp"
SIGNATURE_HEADER = "X-Caseloop-Signature"
SIGNATURE_SCHEME = "sha256"


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`; the timestamp is signed so a replay cannot move it."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"
