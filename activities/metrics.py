"""Domain metrics (prometheus-client), recorded by activities only: workflow code would double-count on replay.

Every department-labelled series takes registry codes only. Once the worker has loaded the registry's codes
(`KNOWN_CODES.load`, at start and at every scrape), a code it does not hold is refused as a label: the event is
counted in `caseloop_metric_labels_refused_total` instead, so a bug can never mint a label per id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TypeGuard

from prometheus_client import Counter, Histogram

from schemas.clock import RungKind
from schemas.ledger import CardLevel

log = logging.getLogger(__name__)

COMMANDS = Counter("caseloop_commands_total", "Commands applied to cases and hand-offs", ["workflow", "command"])
CARDS_ISSUED = Counter("caseloop_cards_issued_total", "Yellow and red cards issued", ["department", "colour"])
ESCALATIONS = Counter("caseloop_escalations_total", "Rungs of the escalation ladder reached", ["department", "rung"])
DELIVERIES = Counter(
    "caseloop_deliveries_total", "Pushes to department systems by outcome", ["department", "channel", "outcome"]
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "caseloop_webhook_endpoints_disabled_total",
    "Department webhooks disabled because they answered 410 Gone; their pushes wait in the inbox",
    ["department"],
)
LOOP_SECONDS = Histogram(
    "caseloop_loop_seconds",
    "Time from launch or push to close, per kind",
    ["kind"],
    buckets=(3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 15 * 86400, 30 * 86400, 90 * 86400),
)
CASES_LAUNCHED = Counter("caseloop_cases_launched_total", "Cases launched, by lead department", ["department"])
CASES_CLOSED = Counter(
    "caseloop_cases_closed_total",
    "Cases closed, by lead department and whether by the committed deadline (on_time) or after it (late)",
    ["department", "timeliness"],
)
CASES_REDONE = Counter(
    "caseloop_cases_redone_total", "Redo orders after a failed review or a bad rating", ["department"]
)
CASES_REOPENED = Counter("caseloop_cases_reopened_total", "Closed cases reopened", ["department"])
# Working hours on the legal calendar: office hours of working days, so a working day holds about 7.5 of them.
STEP_WORKING_HOURS = Histogram(
    "caseloop_step_working_hours",
    "Working hours a step took on the legal calendar: case sign, commit, close; hand-off claim, feedback, close",
    ["kind", "step"],
    buckets=(0.5, 1, 2, 4, 7.5, 15, 22.5, 37.5, 75, 150, 300),
)
GATEWAY_REQUESTS = Histogram(
    "caseloop_gateway_request_seconds",
    "Webhook calls to department systems, by result: delivered, failed (retried) or rejected (for good)",
    ["result"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INBOX_CALLS = Counter(
    "caseloop_inbox_calls_total",
    "Calls departments made to their inbox through the front door: read or acknowledge",
    ["department", "call"],
)
LABELS_REFUSED = Counter(
    "caseloop_metric_labels_refused_total",
    "Events not counted under their department because the code is not in the registry",
    ["metric"],
)

TIMELINESS = ("on_time", "late")
INBOX_CALL_KINDS = ("read", "acknowledge")


class KnownCodes:
    """The registry's department and locality codes: the only values a department label may take.

    Until `load` is called (a test that builds activities alone) every code is admitted.
    """

    def __init__(self) -> None:
        self._codes: frozenset[str] | None = None
        self._lock = threading.Lock()  # loaded from the scrape thread, read from the worker's

    def load(self, codes: Iterable[str]) -> None:
        """Takes the registry's codes and puts every department series at 0 for each new one, so the first event
        is an increase() a dashboard sees, not a series appearing."""
        codes = frozenset(codes)
        with self._lock:
            new = codes - (self._codes or frozenset())
            self._codes = codes
        for code in sorted(new):
            _initialise(code)

    def forget(self) -> None:
        with self._lock:
            self._codes = None

    def admits(self, code: str | None, metric: str) -> TypeGuard[str]:
        codes = self._codes
        if code is not None and (codes is None or code in codes):
            return True
        LABELS_REFUSED.labels(metric=metric).inc()
        log.warning("metric %s: department code %r is not in the registry; not counted under it", metric, code)
        return False


def _initialise(code: str) -> None:
    CASES_LAUNCHED.labels(department=code)
    CASES_REDONE.labels(department=code)
    CASES_REOPENED.labels(department=code)
    for timeliness in TIMELINESS:
        CASES_CLOSED.labels(department=code, timeliness=timeliness)
    for level in CardLevel:
        CARDS_ISSUED.labels(department=code, colour=level.value)
    for rung in RungKind:
        ESCALATIONS.labels(department=code, rung=rung.value)
    for call in INBOX_CALL_KINDS:
        INBOX_CALLS.labels(department=code, call=call)


KNOWN_CODES = KnownCodes()


def count_card(department: str, colour: str) -> None:
    if KNOWN_CODES.admits(department, "caseloop_cards_issued_total"):
        CARDS_ISSUED.labels(department=department, colour=colour).inc()


def count_escalation(department: str, rung: str) -> None:
    if KNOWN_CODES.admits(department, "caseloop_escalations_total"):
        ESCALATIONS.labels(department=department, rung=rung).inc()


def count_inbox_call(department: str, call: str) -> None:
    if KNOWN_CODES.admits(department, "caseloop_inbox_calls_total"):
        INBOX_CALLS.labels(department=department, call=call).inc()
