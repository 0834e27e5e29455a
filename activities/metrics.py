"""Domain metrics (prometheus-client), recorded by activities only: workflow code would double-count on replay.

Every department-labelled series takes registry codes only. Once the worker has loaded the registry's codes
(`KNOWN_CODES.load`, at start and at every scrape), a code the registry does not hold is refused as a label: the
event is counted in `caseloop_metric_labels_refused_total` instead, so a bug can never mint a label per id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.registry import Department
from schemas.clock import RungKind
from schemas.ledger import CardLevel

log = logging.getLogger(__name__)

COMMANDS = Counter("caseloop_commands_total", "Commands applied to cases and hand-offs", ["workflow", "command"])
CARDS_ISSUED = Counter("caseloop_cards_issued_total", "Yellow and red cards issued", ["department", "colour"])
CARDS_REVOKED = Counter(
    "caseloop_cards_revoked_total",
    "Cards revoked on appeal, by the carded department and colour",
    ["department", "colour"],
)
JOINT_MEETINGS = Counter(
    "caseloop_joint_meetings_total",
    "Leaders' joint meetings (市領導會辦) by department involved and event: requested, outcome_recorded",
    ["department", "event"],
)
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
REPORT_DELIVERIES = Counter(
    "caseloop_report_deliveries_total",
    "Reports sent to their configured recipients, by recipient name and result: delivered or failed",
    ["recipient", "result"],
)
LABELS_REFUSED = Counter(
    "caseloop_metric_labels_refused_total",
    "Events not counted under their department because the code is not in the registry",
    ["metric"],
)

TIMELINESS = ("on_time", "late")
INBOX_CALL_KINDS = ("read", "acknowledge")
MEETING_EVENTS = ("requested", "outcome_recorded")
# Not the disabled-webhook counter: its alert fires on a series that appears, which a 0 at start would be.
DELIVERY_SERIES = (("webhook", "delivered"), ("webhook", "failed"), ("webhook", "rejected"), ("inbox", "inboxed"))


class KnownCodes:
    """The registry's department and locality codes: the only values a department label may take.

    Until `load` is called (a test that builds activities alone) every code is admitted. A code missing from the
    codes loaded sends `admitted` back to the store, at most every RELOAD_SECONDS, so a department imported since
    the last load counts from its first event.
    """

    RELOAD_SECONDS = 10.0

    def __init__(self) -> None:
        self._codes: frozenset[str] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()  # loaded from the scrape thread too

    def load(self, codes: Iterable[str]) -> None:
        """Takes the registry's codes and puts every department series at 0 for each new one, so the first event
        is an increase() a dashboard sees, not a series appearing."""
        codes = frozenset(codes)
        with self._lock:
            new = codes - (self._codes or frozenset())
            self._codes = codes
            # An empty registry is one not imported yet: the next miss reads it again, however soon.
            self._loaded_at = time.monotonic() if codes else 0.0
        for code in sorted(new):
            _initialise(code)

    def forget(self) -> None:
        with self._lock:
            self._codes = None

    def holds(self, code: str) -> bool:
        codes = self._codes
        return codes is None or code in codes

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._loaded_at >= self.RELOAD_SECONDS


KNOWN_CODES = KnownCodes()


async def admitted(code: str | None, metric: str, sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """`code` when it may label `metric`; None, counted as refused, when the registry does not hold it."""
    if code is not None and KNOWN_CODES.holds(code):
        return code
    if code is not None and KNOWN_CODES.stale:
        try:
            async with sessions() as session:
                KNOWN_CODES.load((await session.scalars(select(Department.code))).all())
        except Exception as error:  # the store is down: the event goes uncounted, the activity does not fail
            log.warning("metric %s: registry codes not read again: %s", metric, error)
        if KNOWN_CODES.holds(code):
            return code
    LABELS_REFUSED.labels(metric=metric).inc()
    log.warning("metric %s: department code %r is not in the registry; not counted under it", metric, code)
    return None


def _initialise(code: str) -> None:
    CASES_LAUNCHED.labels(department=code)
    CASES_REDONE.labels(department=code)
    CASES_REOPENED.labels(department=code)
    for timeliness in TIMELINESS:
        CASES_CLOSED.labels(department=code, timeliness=timeliness)
    for level in CardLevel:
        CARDS_ISSUED.labels(department=code, colour=level.value)
        CARDS_REVOKED.labels(department=code, colour=level.value)
    for event in MEETING_EVENTS:
        JOINT_MEETINGS.labels(department=code, event=event)
    for rung in RungKind:
        ESCALATIONS.labels(department=code, rung=rung.value)
    for call in INBOX_CALL_KINDS:
        INBOX_CALLS.labels(department=code, call=call)
    for channel, outcome in DELIVERY_SERIES:
        DELIVERIES.labels(department=code, channel=channel, outcome=outcome)


async def count_inbox_call(sessions: async_sessionmaker[AsyncSession], department: str, call: str) -> None:
    if (code := await admitted(department, "caseloop_inbox_calls_total", sessions)) is not None:
        INBOX_CALLS.labels(department=code, call=call).inc()


# Intake channels: records taken in (created, duplicate, rejected, and created-but-unplaced), and what requesters
# were told. Labelled by channel code and event only: never a record number or a contact.
INTAKE_RECORDS = Counter(
    "caseloop_intake_records_total", "Channel records taken in, by outcome", ["channel", "outcome"]
)
REQUESTER_NOTICES = Counter(
    "caseloop_requester_notices_total", "Events a channel case's requester was told of", ["channel", "event", "by"]
)
VERIFICATIONS = Counter(
    "caseloop_verifications_total",
    "Verification call attempts per shared data item, answering system and outcome",
    ["item", "system", "outcome"],
)
SCHEDULED_DELIVERIES = Counter(
    "caseloop_scheduled_deliveries_total",
    "Scheduled delivery days by entry and how they ended (delivered, late, missing, not expected)",
    ["delivery", "outcome"],
)
