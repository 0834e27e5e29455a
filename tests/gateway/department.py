"""A careful department system on 127.0.0.1, built as docs/webhooks.md tells departments to build theirs.

It verifies the raw body bytes with the official Standard Webhooks library before it parses any JSON, answers
401 to anything that does not verify, and acts once per `webhook-id`: a push it already stored is acknowledged
again without acting twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from tests.gateway.receiver import Answer, Receiver


class DepartmentSystem:
    def __init__(self, secret: str, script: list[Answer]) -> None:
        self._webhook = Webhook(secret)
        self._script = list(script)
        self._lock = threading.Lock()
        self.stored: dict[str, dict[str, Any]] = {}  # webhook-id → the push it acted on
        self.duplicates = 0
        self.refused = 0
        self.receiver = Receiver([Answer(500, "the gate answers every request")], self._answer)

    def _answer(self, headers: dict[str, str], body: bytes) -> Answer:
        try:
            self._webhook.verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError):  # the library raises ValueError on a malformed header
            with self._lock:
                self.refused += 1
            return Answer(401, "signature does not verify")
        push = json.loads(body)
        webhook_id = headers["webhook-id"]
        with self._lock:
            if webhook_id in self.stored:
                self.duplicates += 1
                return Answer(200, "already stored")
            answer = self._script.pop(0) if len(self._script) > 1 else self._script[0]
            if 200 <= answer.status < 300:
                self.stored[webhook_id] = push
            return answer


def verify_deprecated_headers(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    """The deprecated recipe of docs/webhooks.md, written out independently of the gateway's own signing code."""
    timestamp = headers.get("x-caseloop-timestamp", "")
    signature = headers.get("x-caseloop-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())
