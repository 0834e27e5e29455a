"""How a push is signed: Standard Webhooks v1, and caseloop's own earlier headers beside it for one deprecation period.

Standard Webhooks binds the push id into the MAC (`<id>.<timestamp>.<body>`), so a captured delivery replayed under a
fresh id fails verification, and a receiver de-duplicating by `webhook-id` can trust the id it de-duplicates by.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"

# caseloop's own scheme before Standard Webhooks: its timestamp and signature leave the id unsigned. Deprecated;
# sent until LEGACY_HEADERS_REMOVED. Idempotency-Key stays the SMS platform's header (activities.notify).
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "X-Caseloop-Timestamp"
SIGNATURE_HEADER = "X-Caseloop-Signature"
SIGNATURE_SCHEME = "sha256"
LEGACY_HEADERS_REMOVED = "caseloop 0.3.0, and not before 2027-06-01"

SECRET_PREFIX = "whsec_"
# The spec's lower bound for a secret's random bytes.
MIN_SECRET_BYTES = 24


class UnusableSecret(ValueError):
    """The secret variable holds something that cannot sign; the message never repeats the secret."""


def signing_keys(value: bytes) -> list[bytes]:
    """The keys a department's secret variable holds, in the order they sign.

    `whsec_<base64>` secrets separated by spaces (two while a secret rotates: every push carries a signature under
    each, so the department can switch keys at any moment in between). A value without `whsec_` is a secret of
    caseloop's earlier scheme: its bytes are the key, which the official libraries take as `whsec_` + base64 of it.
    """
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return [value]
    words = text.split()
    if not any(word.startswith(SECRET_PREFIX) for word in words):
        return [value]
    keys = []
    for position, word in enumerate(words, start=1):
        if not word.startswith(SECRET_PREFIX):
            raise UnusableSecret(f"secret {position} of {len(words)} does not start with {SECRET_PREFIX}")
        try:
            key = base64.b64decode(word[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise UnusableSecret(
                f"secret {position} of {len(words)} is not standard base64 (A-Z a-z 0-9 + /, padded with =)"
            ) from None
        if len(key) < MIN_SECRET_BYTES:
            raise UnusableSecret(
                f"secret {position} of {len(words)} has {len(key)} bytes; Standard Webhooks asks for at least "
                f"{MIN_SECRET_BYTES} random bytes"
            )
        keys.append(key)
    return keys


def standard_signature(keys: list[bytes], webhook_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per key, separated by spaces."""
    signed = webhook_id.encode("ascii") + b"." + timestamp.encode("ascii") + b"." + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii") for key in keys
    )


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """Deprecated: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, caseloop's earlier scheme."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


def signed_headers(keys: list[bytes], webhook_id: str, timestamp: str, body: bytes) -> dict[str, str]:
    """Every signing header of one attempt: Standard Webhooks, and the deprecated ones under the first key."""
    return {
        WEBHOOK_ID_HEADER: webhook_id,
        WEBHOOK_TIMESTAMP_HEADER: timestamp,
        WEBHOOK_SIGNATURE_HEADER: standard_signature(keys, webhook_id, timestamp, body),
        IDEMPOTENCY_KEY_HEADER: webhook_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(keys[0], timestamp, body),
    }
