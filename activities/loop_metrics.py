"""What a recorded transition adds to the domain metrics: launches, closes on time or late, redos, reopenings, and
the working hours each step of a case or a hand-off took, on the legal calendar of its locality.

Called by the store activities after a transition's audit entry is written for the first time, so a retry counts
nothing twice; never from workflow code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from activities.metrics import (
    CARDS_ISSUED,
    CARDS_REVOKED,
    CASES_CLOSED,
    CASES_LAUNCHED,
    CASES_REDONE,
    CASES_REOPENED,
    ESCALATIONS,
    JOINT_MEETINGS,
    LOOP_SECONDS,
    STEP_WORKING_HOURS,
    admitted,
)
from schemas.case.stages import CaseStage
from schemas.handoff import HandoffStage
from schemas.ledger import AuditEntry, CaseSnapshot, HandoffSnapshot
from services.clock.deadline import LegalClock
from services.clock.service import load_legal_clock
from services.clock.working_time import working_hours_between
from services.ledger import Ledger

log = logging.getLogger(__name__)

_CLOSED = CaseStage.CLOSED.value
_LOOP_CLOSED = HandoffStage.LOOP_CLOSED.value
# The audit actions that end the case's steps, and the action that began each one.
_SIGNED = "all_signed"
_COMMITTED = ("commitment_accepted", "commitment_imposed")
_BEGAN = {"sign": "launched", "commit": _SIGNED}
# How long a step time's calendar serves later observations. The legal clock itself reads the store on every
# computation (an imported override applies at once); a step time is a metric, best effort, and loading the calendar
# (two SELECTs) for each observation was three loads per hand-off loop, one per case step (bench/README.md).
CALENDAR_KEPT_SECONDS = 60.0


class LoopMetrics:
    def __init__(self, ledger: Ledger) -> None:
        self._sessions = ledger.sessions
        self._ledger = ledger
        self._calendars: dict[str | None, tuple[float, LegalClock]] = {}  # by locality: loaded at, clock

    async def case_transition(self, entry: AuditEntry, case: CaseSnapshot) -> None:
        lead = case.lead_department
        if entry.action == "launched":
            if code := await admitted(lead, "caseloop_cases_launched_total", self._sessions):
                CASES_LAUNCHED.labels(department=code).inc()
        elif entry.action == _SIGNED:
            await self._case_step(case, "sign", entry.at)
        elif entry.action in _COMMITTED:
            await self._case_step(case, "commit", entry.at)
        elif entry.action == "redo_ordered":
            if code := await admitted(lead, "caseloop_cases_redone_total", self._sessions):
                CASES_REDONE.labels(department=code).inc()
        elif entry.action == "reopened":
            if code := await admitted(lead, "caseloop_cases_reopened_total", self._sessions):
                CASES_REOPENED.labels(department=code).inc()
        if entry.to_stage == _CLOSED and entry.from_stage != _CLOSED:
            LOOP_SECONDS.labels(kind="case").observe((entry.at - case.opened_at).total_seconds())
            late = case.committed_deadline is not None and entry.at > case.committed_deadline
            if code := await admitted(lead, "caseloop_cases_closed_total", self._sessions):
                CASES_CLOSED.labels(department=code, timeliness="late" if late else "on_time").inc()
            await self._observe("case", "close", case.locality, case.opened_at, entry.at)

    async def card_issued(self, department: str, colour: str) -> None:
        if code := await admitted(department, "caseloop_cards_issued_total", self._sessions):
            CARDS_ISSUED.labels(department=code, colour=colour).inc()

    async def card_revoked(self, department: str, colour: str) -> None:
        if code := await admitted(department, "caseloop_cards_revoked_total", self._sessions):
            CARDS_REVOKED.labels(department=code, colour=colour).inc()

    async def joint_meeting(self, departments: list[str], event: str) -> None:
        """A meeting requested or its outcome recorded: once for each department involved."""
        for department in dict.fromkeys(departments):
            if code := await admitted(department, "caseloop_joint_meetings_total", self._sessions):
                JOINT_MEETINGS.labels(department=code, event=event).inc()

    async def escalated(self, department: str, rung: str) -> None:
        if code := await admitted(department, "caseloop_escalations_total", self._sessions):
            ESCALATIONS.labels(department=code, rung=rung).inc()

    async def handoff_transition(self, entry: AuditEntry, handoff: HandoffSnapshot) -> None:
        pushed = handoff.pushed_at or handoff.created_at
        if entry.to_stage == HandoffStage.CLAIMED.value and handoff.claimed_at is not None:
            await self._observe("handoff", "claim", handoff.locality, pushed, handoff.claimed_at)
        elif entry.to_stage == HandoffStage.FEEDBACK_SENT.value and handoff.feedback_at is not None:
            await self._observe("handoff", "feedback", handoff.locality, handoff.claimed_at or pushed, entry.at)
        if entry.to_stage == _LOOP_CLOSED and entry.from_stage != _LOOP_CLOSED:
            LOOP_SECONDS.labels(kind="handoff").observe((entry.at - pushed).total_seconds())
            await self._observe("handoff", "close", handoff.locality, pushed, entry.at)

    async def _case_step(self, case: CaseSnapshot, step: str, ended: datetime) -> None:
        """A step's start is the latest audit entry of the action that began it (a reopened case signs again)."""
        with _best_effort(step):
            began = await self._ledger.latest_action_at(case.case_id, _BEGAN[step], ended)
            if began is not None:
                await self._observe("case", step, case.locality, began, ended)

    async def _observe(self, kind: str, step: str, locality: str | None, start: datetime, end: datetime) -> None:
        with _best_effort(step):
            clock = await self._calendar(locality)
            STEP_WORKING_HOURS.labels(kind=kind, step=step).observe(working_hours_between(clock, start, end))

    async def _calendar(self, locality: str | None) -> LegalClock:
        """The legal clock of `locality` for step times, loaded at most once per CALENDAR_KEPT_SECONDS."""
        now = time.monotonic()
        kept = self._calendars.get(locality)
        if kept is not None and now - kept[0] < CALENDAR_KEPT_SECONDS:
            return kept[1]
        clock = await load_legal_clock(self._sessions, locality)
        self._calendars[locality] = (now, clock)
        return clock


@contextmanager
def _best_effort(step: str) -> Iterator[None]:
    """A step time is read from the store after the transition is written: if that read fails, the observation is
    lost, never the activity (its writes are made, and a retry would count nothing)."""
    try:
        yield
    except Exception as error:
        log.warning("metrics: the %s time was not observed: %s", step, error)
