"""Event intake: records each reported event once, matches it against the collaboration matters and starts one
hand-off workflow per matter and receiving department.

Starting happens here, in an activity, rather than as child workflows: a batch of thousands of events then costs
its workflow three history events per chunk instead of several per hand-off. Every start is idempotent (the
hand-off ID is derived from the event, the conflict policy is USE_EXISTING and a closed hand-off is never
started again), so a retried attempt or a duplicate report repeats the starts harmlessly and nothing is lost if
a worker dies between recording an event and starting its hand-offs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.registry.lookups import RegistryActivities
from activities.store.handoff_events import HandoffEvent, HandoffEventRepository, HandoffStartRow
from activities.store.registry import RegistryRepository
from schemas import names
from schemas.clock import ClockSpec
from schemas.handoff import (
    DATE_WINDOW,
    Admission,
    AdmissionResult,
    DateWindow,
    EventOutcome,
    EventReport,
    HandoffInput,
    HandoffPolicy,
    HandoffStart,
    LoopTwoStarted,
    Rejection,
    SourceEvent,
    StartedHandoff,
    clock_unit,
    handoff_id,
    opposite,
)
from schemas.registry import (
    DIRECTIONS_OF_KIND,
    HandoffDirection,
    HandoffRouteQuery,
    MatterInfo,
    MatterQuery,
    MatterStep,
    TriggerQuery,
)
from services.clock.deadline import LegalClock
from services.clock.errors import ClockInputError
from services.clock.service import load_legal_clock
from services.registry.roles import handoff_coordinator

# Hand-off starts in flight at once per admission: enough to keep up with a nightly export, gentle on the server.
STARTS_AT_ONCE = 20


UNMATCHED_RULE = "event.unmatched"
OCCURRED_AT_RULE = "event.occurred-at"
OUT_OF_RANGE_RULE = "event.date-out-of-range"


@dataclass
class _Known:
    """What one admission looked up once for all its events: legal clocks per locality, coordinators per matter and
    locality."""

    clocks: dict[str | None, LegalClock] = field(default_factory=dict)
    coordinators: dict[tuple[str, str | None], str | None] = field(default_factory=dict)


class _Unmatched(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(rule=UNMATCHED_RULE, field="event", message=message)


class HandoffIntakeActivities:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        client: Client | None = None,
        dates: DateWindow = DATE_WINDOW,
        policy: HandoffPolicy | None = None,
    ) -> None:
        """`client` defaults to the worker's own (activity.client()); tests of the bare activity pass one. `dates`
        is the window an event's `occurred_at` must lie in; `policy` the tuning numbers every hand-off it starts
        keeps (DESIGN.md's defaults when None)."""
        self._sessions = session_factory
        self._client = client
        self._registry = RegistryActivities(session_factory)
        self._dates = dates
        self._policy = policy or HandoffPolicy()

    @activity.defn(name="handoff_admit_events")
    async def admit_events(self, admission: Admission) -> AdmissionResult:
        known = _Known()
        reports: list[EventReport] = []
        starts: list[HandoffStart] = []
        seen: set[str] = set()
        as_of = admission.as_of or datetime.now(UTC)
        for event in admission.events:
            report, event_starts = await self._admit(event, admission.admitted_by, as_of, known)
            if event.key in seen:  # the same event twice in one batch: the second is a duplicate report
                report = report.model_copy(update={"outcome": EventOutcome.DUPLICATE})
                event_starts = []
            seen.add(event.key)
            reports.append(report)
            starts.extend(event_starts)
        await self._start_all(starts)
        started = sum(1 for report in reports if report.outcome is EventOutcome.STARTED)
        activity.logger.info(
            "hand-off events admitted",
            extra={"events": len(reports), "started": started, "handoffs": len(starts)},
        )
        return AdmissionResult(reports=reports)

    async def _admit(
        self, event: SourceEvent, admitted_by: str, as_of: datetime, known: _Known
    ) -> tuple[EventReport, list[HandoffStart]]:
        async with self._sessions() as session:
            stored = await HandoffEventRepository(session).get(event.key)
            if stored is not None:
                return _recorded(stored, admitted_by)
            rejection = self._out_of_window(event, as_of) or await _rejection(session, event)
        if rejection is not None:
            return _rejected(event, rejection), []
        now = datetime.now(UTC)
        try:
            planned = await self._plan(event, now, known)
            outcome, rule = EventOutcome.STARTED, None
        except _Unmatched as unmatched:
            planned, outcome, rule = [], EventOutcome.UNMATCHED, unmatched.rejection
        except (OverflowError, ClockInputError) as error:
            # A limit counted from this event's date leaves the calendar: this event is refused, not its chunk.
            message = f"the limits counted from occurred_at {event.occurred_at.isoformat()} cannot be computed: {error}"
            return _rejected(event, Rejection(rule=OUT_OF_RANGE_RULE, field="occurred_at", message=message)), []
        row = HandoffEvent(
            event_key=event.key,
            source_department=event.source_department,
            event=event.event.value,
            reference=event.reference,
            item_code=event.item_code,
            locality_code=event.locality_code,
            related_handoff_id=event.related_handoff_id,
            occurred_at=event.occurred_at,
            received_at=now,
            admitted_by=admitted_by,
            outcome=outcome.value,
            rule=rule.message if rule else None,
        )
        async with self._sessions.begin() as session:
            stored = await HandoffEventRepository(session).record(row, [_start_row(start) for start in planned])
            # A concurrent report of the same event may have recorded it first; then this one is its duplicate.
            return _recorded(stored, admitted_by, rule)

    def _out_of_window(self, event: SourceEvent, as_of: datetime) -> Rejection | None:
        refusal = self._dates.refusal(event.occurred_at, as_of)
        if refusal is None:
            return None
        return Rejection(rule=OCCURRED_AT_RULE, field="occurred_at", message=f"occurred_at {refusal}")

    async def _plan(self, event: SourceEvent, now: datetime, known: _Known) -> list[HandoffStart]:
        if event.related_handoff_id is not None:
            return await self._plan_loop_two(event, now, known)
        matched = await self._registry.match_trigger(TriggerQuery(trigger=event.event, item_code=event.item_code))
        if not matched.matters:
            item = f" of item {event.item_code}" if event.item_code else ""
            raise _Unmatched(f"no active collaboration matter is started by {event.event.value}{item}")
        starts = []
        for matter in matched.matters:
            route = await self._registry.resolve_handoff_receivers(
                HandoffRouteQuery(matter_code=matter.code, locality_code=event.locality_code)
            )
            assert matter.direction is not None  # hand-off matters always have one
            receivers: Sequence[str | None] = [receiver.code for receiver in route.receivers] or [None]
            fan_out = len(receivers) > 1
            for receiver in receivers:
                identifier = handoff_id(
                    matter.code,
                    event.source_department,
                    event.reference,
                    matter.direction,
                    receiver if fan_out else None,
                )
                starts.append(
                    await self._start(
                        identifier,
                        identifier,
                        route.matter,
                        matter.direction,
                        event,
                        receiver,
                        route.routed_by_function,
                        now,
                        known,
                    )
                )
        return starts

    async def _plan_loop_two(self, event: SourceEvent, now: datetime, known: _Known) -> list[HandoffStart]:
        """A finding goes back to the department whose push it answers, on a matter for its event or loop 1's own."""
        assert event.related_handoff_id is not None
        async with self._sessions() as session:
            related = await HandoffEventRepository(session).start_of(event.related_handoff_id)
        assert related is not None  # checked by _rejection
        back = opposite(HandoffDirection(related.direction))
        matched = await self._registry.match_trigger(TriggerQuery(trigger=event.event, item_code=event.item_code))
        matters = [matter for matter in matched.matters if matter.direction is back]
        if not matters:
            loop_one_matter = await self._registry.get_matter(MatterQuery(code=related.matter_code))
            if back not in DIRECTIONS_OF_KIND[loop_one_matter.kind]:
                raise _Unmatched(
                    f"no active matter carries {event.event.value} back ({back.value}), and matter "
                    f"{loop_one_matter.code} of hand-off {related.handoff_id} is a {loop_one_matter.kind.value} "
                    "matter without a way back",
                )
            matters = [loop_one_matter]
        return [
            await self._start(
                handoff_id(matter.code, event.source_department, event.reference, back),
                related.thread_id,
                matter,
                back,
                event,
                related.source_department,
                False,
                now,
                known,
            )
            for matter in matters
        ]

    async def _start(
        self,
        identifier: str,
        thread_id: str,
        matter: MatterInfo,
        direction: HandoffDirection,
        event: SourceEvent,
        receiver: str | None,
        routed_by_function: bool,
        now: datetime,
        known: _Known,
    ) -> HandoffStart:
        start = HandoffStart(
            handoff_id=identifier,
            thread_id=thread_id,
            matter=matter,
            direction=direction,
            event=event,
            receiver_code=receiver,
            routed_by_function=routed_by_function,
            created_at=now,
            end_to_end_due_at=now,
            coordinator_code=await self._coordinator(matter.code, event.locality_code, known),
            policy=self._policy,
        )
        end_to_end = start.limit(MatterStep.END_TO_END)
        assert end_to_end is not None  # there is a default
        clocks = known.clocks
        if event.locality_code not in clocks:
            clocks[event.locality_code] = await load_legal_clock(self._sessions, event.locality_code)
        spec = ClockSpec(
            started_at=event.occurred_at,
            limit=float(end_to_end.amount),
            unit=clock_unit(end_to_end.unit),
            locality=event.locality_code,
        )
        start.end_to_end_due_at = clocks[event.locality_code].deadline(spec).due_at
        return start

    async def _coordinator(self, matter_code: str, locality_code: str | None, known: _Known) -> str | None:
        """The registry's coordinator for the matter where the event happened: the hand-off keeps it, so only that
        department reroutes and terminates it as coordinator."""
        place = (matter_code, locality_code)
        if place not in known.coordinators:
            async with self._sessions() as session:
                known.coordinators[place] = await handoff_coordinator(session, matter_code, locality_code)
        return known.coordinators[place]

    async def _start_all(self, starts: list[HandoffStart]) -> None:
        client = self._client or activity.client()
        task_queue = activity.info().task_queue
        gate = asyncio.Semaphore(STARTS_AT_ONCE)

        async def start_one(start: HandoffStart) -> None:
            async with gate:
                try:
                    await client.start_workflow(
                        names.HANDOFF_WORKFLOW,
                        HandoffInput(start=start),
                        id=start.handoff_id,
                        task_queue=task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                        static_summary=start.summary,
                    )
                except WorkflowAlreadyStartedError:
                    pass  # it ran and closed: a duplicate report must not start it again
                if start.thread_id != start.handoff_id:
                    await _tell_loop_one(client, start)

        await asyncio.gather(*(start_one(start) for start in starts))


async def _tell_loop_one(client: Client, start: HandoffStart) -> None:
    try:
        await client.get_workflow_handle(start.thread_id).signal(
            names.HANDOFF_LOOP_TWO_STARTED, LoopTwoStarted(handoff_id=start.handoff_id)
        )
    except RPCError as error:
        # Loop 1 closed before its finding came: the thread lives on in the store (handoff_starts.thread_id).
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise


async def _rejection(session: AsyncSession, event: SourceEvent) -> Rejection | None:
    registry = RegistryRepository(session)
    source = await registry.get_department(event.source_department)
    if source is None:
        return Rejection(
            rule="event.unknown-department",
            field="source_department",
            message=f"department {event.source_department} does not exist in the registry",
        )
    if not source.active:
        return Rejection(
            rule="event.inactive-department",
            field="source_department",
            message=f"department {event.source_department} is inactive in the registry",
        )
    if event.locality_code is not None:
        locality = await registry.get_department(event.locality_code)
        if locality is None or not locality.is_locality:
            return Rejection(
                rule="event.unknown-locality",
                field="locality_code",
                message=f"{event.locality_code} is not a locality (county, district or zone) in the registry",
            )
    if event.related_handoff_id is not None:
        related = await HandoffEventRepository(session).start_of(event.related_handoff_id)
        if related is None:
            return Rejection(
                rule="event.unknown-handoff",
                field="related_handoff_id",
                message=f"hand-off {event.related_handoff_id} does not exist",
            )
        if related.receiver_code is not None and related.receiver_code != event.source_department:
            return Rejection(
                rule="event.not-the-receiver",
                field="source_department",
                message=f"only {related.receiver_code}, the receiver of hand-off {related.handoff_id}, "
                f"may report findings about it, not {event.source_department}",
            )
    return None


def _rejected(event: SourceEvent, rejection: Rejection) -> EventReport:
    """A refused event: nothing recorded, so the corrected event may be reported under the same key."""
    return EventReport(event_key=event.key, outcome=EventOutcome.REJECTED, rejection=rejection)


def _start_row(start: HandoffStart) -> HandoffStartRow:
    return HandoffStartRow(
        handoff_id=start.handoff_id,
        thread_id=start.thread_id,
        related_handoff_id=start.event.related_handoff_id,
        matter_code=start.matter.code,
        direction=start.direction.value,
        source_department=start.event.source_department,
        receiver_code=start.receiver_code,
        end_to_end_due_at=start.end_to_end_due_at,
        started_at=start.created_at,
        start=start.model_dump(mode="json"),
    )


def _recorded(
    stored: HandoffEvent, admitted_by: str, rule: Rejection | None = None
) -> tuple[EventReport, list[HandoffStart]]:
    """The report of a recorded event; an earlier admission's record makes this report a duplicate."""
    starts = [HandoffStart.model_validate(row.start) for row in stored.handoffs]
    if stored.admitted_by != admitted_by:
        outcome = EventOutcome.DUPLICATE
    else:
        outcome = EventOutcome(stored.outcome)
    if rule is None and stored.rule is not None:
        rule = Rejection(rule=UNMATCHED_RULE, field="event", message=stored.rule)
    report = EventReport(
        event_key=stored.event_key,
        outcome=outcome,
        handoffs=[
            StartedHandoff(
                handoff_id=start.handoff_id,
                thread_id=start.thread_id,
                matter_code=start.matter.code,
                direction=start.direction,
                receiver_code=start.receiver_code,
            )
            for start in starts
        ],
        rejection=rule if stored.outcome == EventOutcome.UNMATCHED.value else None,
    )
    return report, starts
