"""How an HTTP answer from a department system or the SMS platform is classified: delivered, retry, or give up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

# What the SMS platform's refusal may show in a message: enough for an operator to see the cause.
MESSAGE_BODY_CHARS = 300

# Longer waits asked for are cut to this, the longest the DEPARTMENT_DELIVERY policy itself ever waits.
LONGEST_HONOURED_RETRY_AFTER = timedelta(minutes=30)

# The statuses whose Retry-After says when to come back (RFC 9110 §10.2.3, RFC 6585 §4).
RETRY_AFTER_STATUSES = (429, 503)

# Hex digits of the reply's SHA-256 that are kept: enough to find the reply in the department's own logs.
DIGEST_CHARS = 12


def is_delivered(status_code: int) -> bool:
    return 200 <= status_code < 300


def is_retryable(status_code: int) -> bool:
    """Timeouts, throttling and server faults pass; any other refusal will be refused again."""
    return status_code in (408, 429) or status_code >= 500


def is_gone(status_code: int) -> bool:
    """410: the endpoint is gone for good (Standard Webhooks: stop sending to it)."""
    return status_code == 410


@dataclass(frozen=True)
class Reply:
    """What is kept of a department's answer: its status and a digest of the body, never the body.

    A reply may echo the push, and so a citizen's name; histories, logs and the attempts table keep none of it.
    The department finds the reply in its own logs by the digest.
    """

    status: int
    size: int  # bytes read
    complete: bool  # False: the reply went on past the cap, and the digest covers only what was read
    digest: str
    retry_after: timedelta | None = None

    def __str__(self) -> str:
        if self.size == 0:
            return f"HTTP {self.status}, empty reply"
        more = "" if self.complete else " and more, not read"
        return f"HTTP {self.status}, reply of {self.size} bytes{more}, sha256:{self.digest}"


async def read_reply(response: httpx.Response, max_bytes: int) -> Reply:
    """Reads at most max_bytes of the body as sent (no decompression), for its digest; the rest is left unread."""
    digest = hashlib.sha256()
    size = 0
    complete = True
    async for chunk in response.aiter_raw():
        room = max_bytes - size
        if len(chunk) > room:
            chunk, complete = chunk[:room], False
        digest.update(chunk)
        size += len(chunk)
        if not complete:
            break
    status = response.status_code
    waited = retry_after(response) if status in RETRY_AFTER_STATUSES else None
    return Reply(status, size, complete, digest.hexdigest()[:DIGEST_CHARS], waited)


def body_excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= MESSAGE_BODY_CHARS else text[:MESSAGE_BODY_CHARS] + "…"


def retry_after(response: httpx.Response, now: datetime | None = None) -> timedelta | None:
    """The Retry-After header (seconds or an HTTP date), if the system sent a usable one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        # More digits than the longest honoured wait has cannot matter, and int() of thousands of them raises.
        delay = timedelta(seconds=int(value)) if len(value) <= 12 else LONGEST_HONOURED_RETRY_AFTER
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - (now or datetime.now(UTC))
    if delay <= timedelta(0):
        return None
    return min(delay, LONGEST_HONOURED_RETRY_AFTER)
