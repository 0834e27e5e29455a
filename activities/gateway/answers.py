"""Signed answers from department systems: a verification's answer, a pulled delivery.

The answering system signs its body per Standard Webhooks under the same secret as the request, over the request's
own id, so an answer cannot be replayed for another call or forged without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import httpx

from activities.gateway.signing import WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER

# How far an answer's timestamp may stand from the worker's clock (the Standard Webhooks libraries' default).
TIMESTAMP_TOLERANCE = timedelta(minutes=5)


def answer_signed(keys: list[bytes], call_id: str, headers: httpx.Headers, body: bytes, now: float) -> str | None:
    """None when the answer carries a valid signature over our call id; otherwise what is wrong with it."""
    if headers.get(WEBHOOK_ID_HEADER) != call_id:
        return "the answer names another call id"
    stamp = headers.get(WEBHOOK_TIMESTAMP_HEADER, "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return "the answer has no usable timestamp"
    if abs(now - int(stamp)) > TIMESTAMP_TOLERANCE.total_seconds():
        return "the answer's timestamp is outside the tolerance"
    signed = call_id.encode("ascii") + b"." + stamp.encode("ascii") + b"." + body
    offered = {
        part.removeprefix("v1,") for part in headers.get(WEBHOOK_SIGNATURE_HEADER, "").split() if part.startswith("v1,")
    }
    for key in keys:
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
        if any(hmac.compare_digest(expected, signature) for signature in offered):
            return None
    return "the answer's signature does not check under the item's secret"


async def read_answer(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """At most max_bytes of the body as sent; whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        if size + len(chunk) > max_bytes:
            chunks.append(chunk[: max_bytes - size])
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True
