"""How an HTTP answer from a department system or the SMS platform is classified: delivered, retry, or give up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

# What is kept of a refusing answer: enough for an operator to see the cause, not a whole error page.
KEPT_BODY_CHARS = 2000
MESSAGE_BODY_CHARS = 300

# Longer waits asked for are cut to this, the longest the DEPARTMENT_DELIVERY policy itself ever waits.
LONGEST_HONOURED_RETRY_AFTER = timedelta(minutes=30)


def is_delivered(status_code: int) -> bool:
    return 200 <= status_code < 300


def is_retryable(status_code: int) -> bool:
    """Timeouts, throttling and server faults pass; any other refusal will be refused again."""
    return status_code in (408, 429) or status_code >= 500


def kept_body(response: httpx.Response) -> str:
    text = response.text
    return text if len(text) <= KEPT_BODY_CHARS else text[:KEPT_BODY_CHARS] + "…"


def body_excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= MESSAGE_BODY_CHARS else text[:MESSAGE_BODY_CHARS] + "…"


def retry_after(response: httpx.Response, now: datetime | None = None) -> timedelta | None:
    """The Retry-After header (seconds or an HTTP date), if the system sent a usable one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - (now or datetime.now(UTC))
    if delay <= timedelta(0):
        return None
    return min(delay, LONGEST_HONOURED_RETRY_AFTER)
