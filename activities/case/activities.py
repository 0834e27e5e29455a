"""The case's two activities: every deadline a transition needs, and every store write it makes, in one call each.

They compose the clock and ledger services (one unit of work each, all keyed by ids the workflow chose), so a
retried call repeats harmlessly and a case's history grows by one activity per concern per command.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.loop_metrics import LoopMetrics
from activities.metrics import COMMANDS, DELIVERIES
from activities.service_errors import as_application_errors
from activities.store.delivery import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryAttemptRepository,
    DeliveryChannel,
    InboxRepository,
    attempt_of,
    put_in_inboxes,
)
from activities.store.group_commit import GroupCommit
from activities.store.registry import DepartmentDirectory, DepartmentEntry, RegistryRepository
from schemas.case.records import (
    CaseChanges,
    CaseChangesRecorded,
    ClockPlan,
    ClockPlanItem,
    ClockPlanRequest,
    ClockPlanResult,
)
from schemas.clock import ClockSpec, Deadline, RungSchedule
from schemas.delivery import Push
from schemas.ledger import CaseTransition
from services.clock.deadline import LegalClock
from services.clock.service import ClockService
from services.ledger import CaseWrite, CaseWritten, Ledger

# What one transition's unit of work wrote: its entries, cards and score events (`CaseWritten`), the orders applied
# and the ratings recorded.
_Written = tuple[CaseWritten, int, int]
_Unit = tuple[CaseChanges, list[tuple[Push, DeliveryAttempt]]]  # a transition, and its pushes' inbox attempts
_Held = tuple[_Written, list[Push]]  # a transition's writes, and its pushes put in their inboxes


def _inbox_only(department: DepartmentEntry | None) -> bool:
    return department is not None and department.inbox_only


def _spec(item: ClockPlanItem) -> ClockSpec:
    """The clock an item counts on (its locality picks the office hours)."""
    if item.schedule is not None:
        return item.schedule.clock
    if item.window is not None:
        return item.window
    if item.extension is not None:
        return item.extension.clock
    assert item.suspension is not None
    return item.suspension.clock


def _unexplained(deadline: Deadline) -> Deadline:
    """A deadline without its readable lines. The case reads a deadline's day notes (its explanation in the view is
    built from them, `machine.explain`), never the lines, which a local activity's marker kept in the history: 3.5 %
    of a case's history bytes (bench/README.md). `caseloop deadline` asks the legal clock itself, with the lines."""
    return deadline.model_copy(update={"explanation": []})


def _without_lines(schedule: RungSchedule) -> RungSchedule:
    return schedule.model_copy(update={"deadline": _unexplained(schedule.deadline)})


class CaseActivities:
    def __init__(
        self,
        clock: ClockService,
        ledger: Ledger,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self._clock = clock
        self._ledger = ledger
        self._sessions = sessions  # the inbox, for pushes handed over after their last attempt
        self._metrics = LoopMetrics(ledger)
        self._units = GroupCommit(ledger.unit_of_work, self._write_units)
        self._departments = DepartmentDirectory()  # whether a push goes to an inbox, with the transition

    @activity.defn(name="case_plan_clocks")
    async def plan_clocks(self, request: ClockPlanRequest) -> ClockPlan:
        # The calendar and office hours read once per locality for the whole request, not once per item.
        clocks: dict[str | None, LegalClock] = {}
        with as_application_errors():
            for locality in dict.fromkeys(_spec(item).locality for item in request.items):
                clocks[locality] = await self._clock.load(locality)
            return ClockPlan(results=[await self._plan(item, clocks[_spec(item).locality]) for item in request.items])

    async def _plan(self, item: ClockPlanItem, loaded: LegalClock) -> ClockPlanResult:
        clock = self._clock
        if item.schedule is not None:
            schedule = await clock.schedule_rungs(item.schedule, loaded)
            return ClockPlanResult(key=item.key, schedule=_without_lines(schedule))
        if item.window is not None:
            return ClockPlanResult(key=item.key, deadline=_unexplained(await clock.deadline(item.window, loaded)))
        if item.extension is not None:
            change = await clock.extend(item.extension, loaded)
        else:
            assert item.suspension is not None  # the model holds exactly one
            change = await clock.suspend(item.suspension, loaded)
        return ClockPlanResult(
            key=item.key, change=change.model_copy(update={"schedule": _without_lines(change.schedule)})
        )

    async def _write_unit(self, session: AsyncSession, changes: CaseChanges, written: CaseWritten) -> _Written:
        """The rest of one transition's unit of work in `session`, after its entries, cards and scores: its orders
        and ratings (rare: one at a time)."""
        ledger = self._ledger
        orders = sum([(await ledger.record_supervision_order(order, session)).applied for order in changes.orders])
        ratings = sum([(await ledger.record_rating(rating, session)).recorded for rating in changes.ratings])
        return written, orders, ratings

    async def _write_units(self, session: AsyncSession, batch: list[_Unit]) -> list[_Held]:
        """The transitions written side by side, in one transaction: their entries, read models, cards and scores
        in one statement per table for all of them, then each one's orders and ratings; and then their pushes to
        departments without a webhook in their inboxes, in one statement for all of them."""
        writes = [
            CaseWrite(
                transitions=[CaseTransition(entry=entry, case=changes.case) for entry in changes.entries],
                cards=changes.cards,
                scores=changes.scores,
            )
            for changes, _ in batch
        ]
        together = await self._ledger.record_case_writes(writes, session)
        written = [
            await self._write_unit(session, changes, each) for (changes, _), each in zip(batch, together, strict=True)
        ]
        attempts = [attempt for _, attempts in batch for attempt in attempts]
        if not attempts:
            return [(each, []) for each in written]
        departments = await self._departments.all(session)
        held = [(push, row) for push, row in attempts if _inbox_only(departments.get(push.department_code))]
        await put_in_inboxes(session, held)
        ids = {push.push_id for push, _ in held}
        return [
            (each, [push for push in changes.pushes if push.push_id in ids])
            for each, (changes, _) in zip(written, batch, strict=True)
        ]

    @activity.defn(name="case_record_changes")
    async def record_changes(self, changes: CaseChanges) -> CaseChangesRecorded:
        with as_application_errors():
            return await self._record(changes)

    async def _record(self, changes: CaseChanges) -> CaseChangesRecorded:
        # The transitions that workers record side by side share a transaction (at the 17:30 instant, every red card
        # of the city's cases): each one's entries, orders, cards, scores and ratings still commit all or nothing.
        # Each push's attempt row is made here, in its own activity's context: the write may run in another's.
        now = datetime.now(UTC)
        attempts = [
            (push, attempt_of(push, DeliveryChannel.INBOX, AttemptOutcome.INBOXED, now)) for push in changes.pushes
        ]
        (written, orders, ratings), held = await self._units.record((changes, attempts))
        for push in held:
            DELIVERIES.labels(push.department_code, DeliveryChannel.INBOX.value, AttemptOutcome.INBOXED.value).inc()
        entries, cards = sum(written.entries), len(written.cards)
        for entry, wrote in zip(changes.entries, written.entries, strict=True):
            if wrote:
                await self._metrics.case_transition(entry, changes.case)
        for card in written.cards:
            await self._metrics.card_issued(card.department_code, card.level.value)
        revocations = meetings = 0
        for revocation in changes.revocations:  # after the cards: a card may be issued and revoked in one write
            revoked = await self._ledger.revoke_card(revocation)
            if revoked.recorded:  # this call revoked it: a retry finds it revoked and counts nothing
                revocations += 1
                await self._metrics.card_revoked(revoked.department_code, revoked.level.value)
        at = changes.entries[-1].at if changes.entries else changes.case.opened_at
        version = changes.entries[-1].seq if changes.entries else 0
        for meeting in changes.meetings:
            change = await self._ledger.write_joint_meeting(meeting, version, at)
            meetings += change.changed
            if change.requested:
                await self._metrics.joint_meeting(meeting.departments, "requested")
            if change.decided:
                await self._metrics.joint_meeting(meeting.departments, "outcome_recorded")
        inboxed = 0
        for push in changes.inboxed:
            inboxed += await self._put_in_inbox(push)
        # A retry finds every entry written already: what it would count was counted by the call that wrote them.
        if entries or not changes.entries:
            for command in changes.commands:
                COMMANDS.labels(workflow="case", command=command).inc()
            for escalation in changes.escalations:
                await self._metrics.escalated(escalation.department, escalation.rung.value)
        return CaseChangesRecorded(
            entries=entries,
            orders=orders,
            cards=cards,
            scores=written.scores,
            ratings=ratings,
            inboxed=inboxed,
            revocations=revocations,
            meetings=meetings,
            held=[push.push_id for push in held],
        )

    async def _put_in_inbox(self, push: Push) -> bool:
        """A push no attempt delivered, stored for its department to read (once, however often this is retried)."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            if await RegistryRepository(session).get_department(push.department_code) is None:
                # Gone from the registry since the push was issued: the audit trail holds the hand-over.
                activity.logger.error("push %s: no department %s for its inbox", push.push_id, push.department_code)
                return False
            inbox = InboxRepository(session)
            if await inbox.by_push_id(push.push_id) is not None:
                return False
            await inbox.store(InboxRepository.row_of(push, now))
            await DeliveryAttemptRepository(session).record(
                attempt_of(push, DeliveryChannel.INBOX, AttemptOutcome.INBOXED, now)
            )
        DELIVERIES.labels(push.department_code, DeliveryChannel.INBOX.value, AttemptOutcome.INBOXED.value).inc()
        return True
