"""The hand-off entity workflow: one push to one receiving department, closed by its claim, feedback and the
originator's acknowledgement (DESIGN.md §3), with SLA timers from the legal clock on every step.

The main loop owes at most one push at a time (the receiver's package); notices to departments (reminders,
cards, orders, feedback, loop closed) wait in the state's outbox and go out one by one, retried until delivered,
so nothing is lost across worker restarts or continue-as-new. Commands are validated updates; every transition
is written to the audit trail and the read model in one activity.

Store writes (transitions, cards, orders, scores) queue in the state's `unrecorded` and are written oldest first.
When the store is down they stay queued and are retried in the background (and before the next write), so an
outage never fails a command, never leaves a gap in the audit sequence, and never ends an SLA clock; the
hand-off does not complete before the store holds them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, RetryState
from temporalio.workflow import ActivityConfig

with workflow.unsafe.imports_passed_through():
    from activities.clock.activities import ClockActivities
    from activities.gateway.delivery import GatewayActivities
    from activities.handoff.admission import HandoffIntakeActivities
    from activities.handoff.records import HandoffStoreActivities
    from activities.ledger import LedgerActivities
    from activities.notify.sms import SmsActivities
    from activities.registry.lookups import RegistryActivities
    from schemas import names
    from schemas import search_attributes as sa
    from schemas.actors import Role
    from schemas.case.records import Escalation
    from schemas.clock import CardProfileName, ClockSpec, FiredRung, RungKind, RungScheduleRequest, SlaClockState
    from schemas.delivery import Push, PushKind, SmsNotification
    from schemas.handoff import (
        SYSTEM_ACTOR,
        WRITES_PER_CALL,
        Acknowledge,
        Actor,
        Admission,
        Claim,
        Command,
        Feedback,
        HandoffClock,
        HandoffInput,
        HandoffOrder,
        HandoffStage,
        HandoffState,
        HandoffView,
        HandoffWrites,
        IssuedCard,
        LoopTwoStarted,
        Reroute,
        ReturnPush,
        Route,
        SendFeedback,
        SlaColour,
        StartActing,
        StoreWrite,
        Terminate,
        clock_unit,
    )
    from schemas.ledger import (
        CardLevel,
        CardReason,
        SupervisionOrderStatus,
    )
    from schemas.orders import order_number, supervision_order_id
    from schemas.registry import DepartmentQuery, HandoffRouteQuery, Limit, MatterStep
    from schemas.rejections import Rejected
    from workflows import policies
    from workflows.handoff import machine, presentation, records
    from workflows.handoff.machine import RungAction
    from workflows.sla import SlaClock

S = HandoffStage

SMS_TEMPLATE = "handoff_push"
_UNPUBLISHED = object()
# Hand-offs started before CaseloopParties existed replay without it; from this marker on, one upserts it.
PARTIES_PATCH = "handoff-parties-search-attribute"
# Runs begun before this marker call one ledger activity per store write, in their order; from it on, a run writes
# every transition's writes in one store activity (HandoffStoreActivities.record_writes), which counts the metrics.
ONE_WRITE_PATCH = "handoff-one-store-write-per-transition"
# From this marker on, a run honours the matter's push and act limits and gives a supervision order its own clock.
CLOCKS_PATCH = "handoff-push-act-and-order-clocks"
# Before this marker CaseloopCardColour held a hand-off's SLA colour; from it on, the most severe card, as for cases,
# and CaseloopSlaColour the SLA colour.
SLA_COLOUR_PATCH = "handoff-card-colour-means-cards"


def _rejected(rejected: Rejected) -> ApplicationError:
    return rejected.rejection.error()


def _business(error: ActivityError) -> ApplicationError | None:
    """The activity's refusal (not found, invalid, conflicting), which no retry can change; None for an outage."""
    cause = error.cause
    return cause if isinstance(cause, ApplicationError) and cause.non_retryable else None


_T = TypeVar("_T")


def _profile(name: str) -> CardProfileName:
    try:
        return CardProfileName(name)
    except ValueError:
        return CardProfileName.DEFAULT


@workflow.defn(name=names.HANDOFF_WORKFLOW)
class HandoffWorkflow:
    @workflow.init
    def __init__(self, input: HandoffInput) -> None:
        self._start = input.start
        self._policy = input.start.policy
        self._state = input.carried or HandoffState(receiver_code=input.start.receiver_code)
        self._lock = asyncio.Lock()
        self._clocks = {
            name: SlaClock(self._state.clocks.setdefault(name, SlaClockState()), self._on_rung_of(name))
            for name in HandoffClock
        }
        self._pushing: asyncio.Task[None] | None = None
        # SMS run beside the push and are never cancelled: a courtesy that has been sent may as well be answered.
        self._texts: list[asyncio.Task[None]] = []
        self._stopping = False
        self._flushing = False  # a store write is on its way: the background retry keeps out of it
        self._one_write_per_transition: bool | None = None
        # What the Temporal UI holds: nothing for a new hand-off; after continue-as-new, unknown (so all is sent).
        self._published: dict[str, Any] = {} if input.carried else {key.name: None for key in sa.ALL}

    @workflow.run
    async def run(self, input: HandoffInput) -> HandoffView:
        clock_tasks = [asyncio.create_task(clock.run()) for clock in self._clocks.values()]
        postman = asyncio.create_task(self._deliver_outbox())
        # Waits without a command until a write is owed, so histories from before it replay unchanged.
        self._catching_up = asyncio.create_task(self._catch_up())
        if input.carried is None:
            async with self._transaction():
                await self._open()
        else:
            self._publish()
        while True:
            await workflow.wait_condition(lambda: self._push_due() or self._finished() or self._continue_as_new_due())
            if self._push_due():
                self._pushing = asyncio.create_task(self._push())
                continue
            await workflow.wait_condition(lambda: not self._lock.locked() and workflow.all_handlers_finished())
            if self._finished():
                break
            if self._continue_as_new_due():
                await self._stop_tasks(clock_tasks, postman)
                workflow.continue_as_new(HandoffInput(start=self._start, carried=self._state))
        await self._stop_tasks(clock_tasks, postman)
        return self._view()

    # Commands.

    @workflow.update(name=names.HANDOFF_CLAIM)
    async def claim(self, command: Claim) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            self._state.claimed_at = now
            self._clocks[HandoffClock.CLAIM].stop()
            await self._arm_matter_clock(HandoffClock.ACT, MatterStep.ACT, now)
            await self._transition(command.actor, "claimed", S.CLAIMED)
            return self._view()

    @workflow.update(name=names.HANDOFF_RETURN)
    async def return_push(self, command: ReturnPush) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            route = self._state.routes[-1]
            route.returned_at, route.return_reason, route.return_basis = now, command.reason, command.legal_basis
            self._clocks[HandoffClock.CLAIM].stop()
            self._clocks[HandoffClock.FEEDBACK].stop()
            self._clocks[HandoffClock.ACT].stop()
            await self._arm(HandoffClock.REROUTE, now, self._limit(MatterStep.REROUTE))
            reason = f"{command.reason} (legal basis: {command.legal_basis})"
            await self._transition(command.actor, "returned", S.RETURNED, reason)
            misroutes = len(self._state.returned_by)
            if misroutes >= self._policy.misrouting_threshold:
                await self._transition(
                    SYSTEM_ACTOR,
                    "misrouting_flagged",
                    S.RETURNED,
                    f"returned {misroutes} times: the department-function registry may be wrong for "
                    f"item {self._start.matter.target_item or self._start.event.item_code}",
                )
            return self._view()

    @workflow.update(name=names.HANDOFF_REROUTE)
    async def reroute(self, command: Reroute) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            department = await self._reroute_target(command)
            if self._pushing is not None and not self._pushing.done():
                self._pushing.cancel()
            self._state.receiver_code = department
            self._state.version += 1
            self._state.routes.append(Route(version=self._state.version, department_code=department, routed_at=now))
            self._state.push_pending = True
            self._clocks[HandoffClock.REROUTE].stop()
            await self._arm_matter_clock(HandoffClock.PUSH, MatterStep.PUSH, now)
            await self._transition(command.actor, "rerouted", S.REROUTED, f"to {department}: {command.reason}")
            return self._view()

    @workflow.update(name=names.HANDOFF_START_ACTING)
    async def start_acting(self, command: StartActing) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            self._state.acting_at, self._state.measure = now, command.measure
            self._clocks[HandoffClock.ACT].stop()
            await self._transition(command.actor, "acting", S.ACTING, command.measure)
            return self._view()

    @workflow.update(name=names.HANDOFF_SEND_FEEDBACK)
    async def send_feedback(self, command: SendFeedback) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            loop_two = await self._push_back(command) if command.findings else []
            self._state.feedback = Feedback(
                result=command.result, findings=command.findings, sent_at=now, details=command.details
            )
            self._clocks[HandoffClock.CLAIM].stop()
            self._clocks[HandoffClock.FEEDBACK].stop()
            self._clocks[HandoffClock.ACT].stop()
            await self._arm(HandoffClock.ACKNOWLEDGE, now, self._limit(MatterStep.ACKNOWLEDGE))
            await self._transition(command.actor, "feedback_sent", S.FEEDBACK_SENT, command.result)
            for identifier in loop_two:
                await self._note_loop_two(identifier)
            await self._settle_orders(SupervisionOrderStatus.ANSWERED, "answered by the feedback")
            self._notify(
                self._start.event.source_department,
                PushKind.HANDOFF_FEEDBACK,
                "feedback",
                presentation.feedback_body(self._state),
            )
            return self._view()

    @workflow.update(name=names.HANDOFF_ACKNOWLEDGE)
    async def acknowledge(self, command: Acknowledge) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            await self._close(command.actor, command.remark or None, automatic=False)
            return self._view()

    @workflow.update(name=names.HANDOFF_TERMINATE)
    async def terminate(self, command: Terminate) -> HandoffView:
        async with self._command(command) as now:
            if now is None:
                return self._view()
            if self._pushing is not None and not self._pushing.done():
                self._pushing.cancel()
            self._state.push_pending = False
            self._state.terminated_at, self._state.termination_reason = now, command.reason
            for clock in self._clocks.values():
                clock.stop()
            pushed = any(route.pushed_at is not None for route in self._state.routes)
            await self._transition(command.actor, "terminated", S.TERMINATED, command.reason)
            await self._settle_orders(SupervisionOrderStatus.LIFTED, f"hand-off terminated: {command.reason}")
            if pushed and self._state.receiver_code is not None:
                body = {"stage": S.TERMINATED.value, "reason": command.reason}
                self._notify(self._state.receiver_code, PushKind.LOOP_CLOSED, "terminated", body)
            return self._view()

    @claim.validator
    def _validate_claim(self, command: Claim) -> None:
        self._validate(command)

    @return_push.validator
    def _validate_return(self, command: ReturnPush) -> None:
        self._validate(command)

    @reroute.validator
    def _validate_reroute(self, command: Reroute) -> None:
        self._validate(command)

    @start_acting.validator
    def _validate_acting(self, command: StartActing) -> None:
        self._validate(command)

    @send_feedback.validator
    def _validate_feedback(self, command: SendFeedback) -> None:
        self._validate(command)

    @acknowledge.validator
    def _validate_acknowledge(self, command: Acknowledge) -> None:
        self._validate(command)

    @terminate.validator
    def _validate_terminate(self, command: Terminate) -> None:
        self._validate(command)

    @workflow.signal(name=names.HANDOFF_LOOP_TWO_STARTED)
    async def loop_two_started(self, started: LoopTwoStarted) -> None:
        async with self._transaction():
            await self._note_loop_two(started.handoff_id)

    @workflow.query(name=names.HANDOFF_VIEW)
    def view(self) -> HandoffView:
        return self._view()

    def _validate(self, command: Command) -> None:
        try:
            if _command_id() in self._state.handled_commands:
                # A repeat: the handler answers with the hand-off as it is, if it is the same command.
                machine.check_repeat(self._state, _command_id(), _applied_as(command))
                return
            machine.check(command, self._state, self._start, workflow.now())
        except Rejected as rejected:
            raise _rejected(rejected) from None

    def _command(self, command: Command) -> _CommandScope:
        return _CommandScope(self, command)

    # Pushing to the receiver.

    def _push_due(self) -> bool:
        return self._state.push_pending and (self._pushing is None or self._pushing.done()) and not self._stopping

    async def _push(self) -> None:
        state = self._state
        receiver, version = state.receiver_code, state.version
        assert receiver is not None
        push = Push(
            push_id=f"{self._start.handoff_id}:push:v{version}",
            department_code=receiver,
            kind=PushKind.HANDOFF_PUSH,
            subject_id=self._start.handoff_id,
            issued_at=workflow.now(),
            body=presentation.package(self._start, version),
        )
        try:
            try:
                first_attempts = policies.delivery_until_alert(self._policy.delivery_attempts_before_alert)
                await workflow.execute_activity_method(GatewayActivities.deliver_push, push, **first_attempts)
            except ActivityError as error:
                if error.retry_state is not RetryState.MAXIMUM_ATTEMPTS_REACHED:
                    raise
                async with self._transaction():
                    if state.version != version or not state.stage.is_open:
                        return
                    await self._transition(
                        SYSTEM_ACTOR,
                        "delivery_failing",
                        S.DELIVERY_FAILED,
                        f"{self._policy.delivery_attempts_before_alert} attempts to reach {receiver} failed; "
                        f"still retrying: {_cause(error)}",
                    )
                await workflow.execute_activity_method(
                    GatewayActivities.deliver_push, push, **policies.DEPARTMENT_DELIVERY
                )
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                return  # rerouted, terminated or continuing as new: whoever cancelled it owns what follows
            async with self._transaction():
                if state.version != version or not state.stage.is_open:
                    return
                state.push_pending = False
                await self._transition(
                    SYSTEM_ACTOR,
                    "delivery_failed",
                    S.DELIVERY_FAILED,
                    f"{receiver} refused the push; the coordinator must reroute it: {_cause(error)}",
                )
            return
        async with self._transaction():
            if state.version != version or not state.stage.is_open:
                return  # rerouted or terminated while it was on its way
            await self._pushed(receiver)
        self._texts.append(asyncio.create_task(self._send_sms(push)))

    async def _pushed(self, receiver: str) -> None:
        state, now = self._state, workflow.now()
        state.push_pending = False
        state.routes[-1].pushed_at = now
        claim_limit = self._limit(MatterStep.CLAIM)
        feedback_limit = self._start.limit(MatterStep.FEEDBACK)
        return_limit = self._limit(MatterStep.RETURN)
        arming: list[Any] = [
            self._deadline(now, return_limit),
            self._arm(HandoffClock.FEEDBACK, now, feedback_limit)
            if feedback_limit is not None
            else self._arm(HandoffClock.FEEDBACK, self._start.event.occurred_at, self._limit(MatterStep.END_TO_END)),
        ]
        next_stage = machine.stage_after_push(self._start)
        if next_stage is S.PUSHED:
            arming.append(self._arm(HandoffClock.CLAIM, now, claim_limit))
        return_until, *_ = await asyncio.gather(*arming)
        state.return_until = return_until
        self._clocks[HandoffClock.REROUTE].stop()
        self._clocks[HandoffClock.PUSH].stop()
        action = "pushed"
        if next_stage is S.CLAIMED:
            state.claimed_at, state.claimed_on_push, action = now, True, "pushed_and_claimed"
            await self._arm_matter_clock(HandoffClock.ACT, MatterStep.ACT, now)
        await self._transition(SYSTEM_ACTOR, action, next_stage, f"delivered to {receiver} (push v{state.version})")

    async def _send_sms(self, push: Push) -> None:
        due = self._clocks[HandoffClock.CLAIM].state.due_at if not self._state.claimed_on_push else None
        variables = {"matter": self._start.matter.code, "reference": self._start.event.reference}
        if due is not None:
            variables["claim_due"] = due.isoformat()
        notification = SmsNotification(
            notification_id=f"{push.push_id}:sms",
            department_code=push.department_code,
            matter_code=self._start.matter.code,
            template_id=SMS_TEMPLATE,
            variables=variables,
        )
        try:
            await workflow.execute_activity_method(
                SmsActivities.send_sms, notification, **policies.courtesy_sms(self._policy.sms_attempts)
            )
        except ActivityError as error:
            async with self._transaction():
                await self._transition(SYSTEM_ACTOR, "sms_not_sent", None, _cause(error))

    async def _reroute_target(self, command: Reroute) -> str:
        """The named department if the registry knows it, else the next one the function catalogue names."""
        state = self._state
        if command.department_code is not None:
            query = DepartmentQuery(code=command.department_code)
            try:
                department = await self._answered(
                    lambda: workflow.execute_activity_method(
                        RegistryActivities.get_department, query, **policies.STORE
                    ),
                    "registry lookup",
                )
            except ActivityError:
                raise _rejected(
                    Rejected(
                        "reroute.unknown-department",
                        "department_code",
                        f"department {command.department_code} does not exist in the registry",
                    )
                ) from None
            if not department.active:
                raise _rejected(
                    Rejected(
                        "reroute.inactive-department",
                        "department_code",
                        f"department {department.code} is inactive in the registry",
                    )
                )
            return department.code
        excluded = [*state.returned_by, self._start.event.source_department]
        route_query = HandoffRouteQuery(
            matter_code=self._start.matter.code, locality_code=self._start.event.locality_code, exclude=excluded
        )
        route = await self._answered(
            lambda: workflow.execute_activity_method(
                RegistryActivities.resolve_handoff_receivers, route_query, **policies.STORE
            ),
            "registry lookup",
        )
        if not route.receivers:
            item = self._start.matter.target_item or "its item"
            raise _rejected(
                Rejected(
                    "reroute.no-department",
                    "department_code",
                    f"the department-function registry names no other department for {item}; name one",
                )
            )
        return route.receivers[0].code

    # Loop 2.

    async def _push_back(self, command: SendFeedback) -> list[str]:
        """Each finding becomes an event of the receiver's, linked to this hand-off: a loop-2 hand-off back."""
        events = machine.findings_as_events(self._start, command)
        admission = Admission(
            admitted_by=f"{self._start.handoff_id}:{_command_id()}", events=events, as_of=workflow.now()
        )
        result = await self._answered(
            lambda: workflow.execute_activity_method(
                HandoffIntakeActivities.admit_events, admission, **policies.ADMISSION
            ),
            "admission of the findings",
        )
        started: list[str] = []
        for report in result.reports:
            started.extend(handoff.handoff_id for handoff in report.handoffs)
            if not report.handoffs:
                reason = report.rejection.message if report.rejection else report.outcome.value
                await self._transition(command.actor, "finding_not_pushed_back", None, f"{report.event_key}: {reason}")
        return started

    async def _note_loop_two(self, identifier: str) -> None:
        if identifier in self._state.loop_two:
            return
        self._state.loop_two.append(identifier)
        await self._transition(SYSTEM_ACTOR, "loop_two_started", None, f"findings pushed back in {identifier}")

    # Opening and closing.

    async def _open(self) -> None:
        start, state = self._start, self._state
        now = workflow.now()
        if state.receiver_code is not None:
            state.version = 1
            state.routes.append(Route(version=1, department_code=state.receiver_code, routed_at=now))
            state.push_pending = True
            await self._arm_matter_clock(HandoffClock.PUSH, MatterStep.PUSH, now)
            reason = f"{start.event.event.value} {start.event.reference} matched matter {start.matter.code}"
        else:
            await self._arm(HandoffClock.REROUTE, now, self._limit(MatterStep.REROUTE))
            reason = "no department holds the matter's item: the coordinator must route it"
        # The door names the credential that reported the event; events from inside the cluster name none.
        reporter = start.event.reported_by or Actor(department=start.event.source_department, role=Role.ORIGINATOR)
        await self._transition(reporter, "created", S.CREATED, reason)
        if start.event.related_handoff_id is not None:
            await self._check_push_back_limit()

    async def _check_push_back_limit(self) -> None:
        """A finding pushed back later than its limit after the decision earns the reporting regulator a red card."""
        event = self._start.event
        due = await self._deadline(event.occurred_at, self._limit(MatterStep.PUSH_BACK))
        if workflow.now() > due:
            await self._card(CardLevel.RED, event.source_department, CardReason.PUSH_BACK_OVERDUE, "push_back", due, 1)

    async def _close(self, actor: Actor, remark: str | None, automatic: bool) -> None:
        state, now = self._state, workflow.now()
        state.closed_at, state.auto_acknowledged = now, automatic
        for clock in self._clocks.values():
            clock.stop()
        action = "auto_acknowledged" if automatic else "acknowledged"
        await self._transition(actor, action, S.LOOP_CLOSED, remark)
        await self._settle_orders(SupervisionOrderStatus.LIFTED, "the loop is closed")
        receiver = state.receiver_code
        assert receiver is not None  # feedback came from it
        if HandoffClock.FEEDBACK not in state.breached:
            await self._record(records.on_time(self._start, receiver, now))
        self._notify(receiver, PushKind.LOOP_CLOSED, "closed", {"stage": S.LOOP_CLOSED.value, "automatic": automatic})

    def _finished(self) -> bool:
        state = self._state
        return not state.stage.is_open and not state.outbox and not state.unrecorded and self._texted()

    def _continue_as_new_due(self) -> bool:
        return workflow.info().is_continue_as_new_suggested() and self._texted()

    def _texted(self) -> bool:
        return all(text.done() for text in self._texts)

    async def _stop_tasks(self, clock_tasks: list[asyncio.Task[None]], postman: asyncio.Task[None]) -> None:
        self._stopping = True
        for clock in self._clocks.values():
            clock.close()
        if self._pushing is not None and not self._pushing.done():
            self._pushing.cancel()
        postman.cancel()
        self._catching_up.cancel()
        await asyncio.gather(
            *clock_tasks,
            postman,
            self._catching_up,
            *([self._pushing] if self._pushing else []),
            return_exceptions=True,
        )

    # SLA clocks.

    def _on_rung_of(self, clock: HandoffClock) -> Any:
        async def on_rung(fired: FiredRung) -> None:
            async with self._transaction():
                try:
                    await self._on_rung(clock, fired)
                except ActivityError as error:
                    # Only a refusal gets here (an outage is waited out below): the clock's later rungs still fire.
                    workflow.logger.error(
                        "rung %s of the %s clock not carried out: %s", fired.kind, clock, _cause(error)
                    )

        return on_rung

    async def _on_rung(self, clock: HandoffClock, fired: FiredRung) -> None:
        state = self._state
        if not state.stage.is_open:
            return
        meaning = machine.rung_meaning(clock, fired, clock in state.breached)
        if meaning.breach:
            state.breached.append(clock)
        colour = machine.colour_of(meaning.action)
        if colour is not None:
            state.colour = machine.deeper(state.colour, colour)
        action, receiver = meaning.action, state.receiver_code
        rung = f"{clock.value} {fired.kind.value} (due {fired.due_at.isoformat()})"
        due = fired.due_at.isoformat()
        if action is RungAction.NOTHING:
            return
        if action in (RungAction.TURN_YELLOW, RungAction.TURN_RED):
            await self._transition(SYSTEM_ACTOR, f"sla_{state.colour.value}", None, rung)
        elif action is RungAction.REMIND and receiver is not None:
            await self._transition(SYSTEM_ACTOR, "reminded", None, rung)
            self._notify(
                receiver,
                PushKind.REMINDER,
                f"remind-{clock.value}",
                {"clock": clock.value, "due_at": fired.due_at.isoformat()},
            )
        elif action is RungAction.YELLOW_CARD and receiver is not None:
            self._clocks[HandoffClock.CLAIM].stop()
            await self._card(
                CardLevel.YELLOW, receiver, CardReason.CLAIM_OVERDUE, clock.value, fired.due_at, fired.deadline_version
            )
        elif action is RungAction.RED_CARD_AND_ORDER and receiver is not None:
            self._escalated(receiver, RungKind.SUPERVISION_ORDER)
            await self._card(
                CardLevel.RED, receiver, CardReason.FEEDBACK_OVERDUE, clock.value, fired.due_at, fired.deadline_version
            )
            await self._issue_order(receiver, fired)
        elif action in (RungAction.REMINDER_NOTICE, RungAction.CIRCULAR, RungAction.ADMONITORY_TALK) and receiver:
            self._escalated(receiver, fired.kind)
            kind = PushKind.REMINDER if action is RungAction.REMINDER_NOTICE else PushKind.CIRCULAR
            await self._transition(SYSTEM_ACTOR, action.value, None, rung)
            self._notify(receiver, kind, action.value, {"rung": action.value, "due_at": fired.due_at.isoformat()})
        elif action is RungAction.AUTO_ACKNOWLEDGE:
            await self._close(
                SYSTEM_ACTOR, "not acknowledged within the limit: acknowledged automatically", automatic=True
            )
        elif action is RungAction.REROUTE_OVERDUE:
            self._clocks[HandoffClock.REROUTE].stop()
            await self._transition(SYSTEM_ACTOR, "reroute_overdue", None, f"the coordinator has not routed it: {rung}")
        elif action is RungAction.PUSH_OVERDUE:
            # The coordinator sees it in the trail and the UI; delivery goes on as before.
            await self._transition(SYSTEM_ACTOR, "push_overdue", None, f"not delivered to {receiver}: {rung}")
        elif action is RungAction.ACT_OVERDUE and receiver is not None:
            await self._transition(SYSTEM_ACTOR, "act_overdue", None, f"{receiver} has not started its measure: {rung}")
            self._notify(receiver, PushKind.REMINDER, "act-overdue", {"clock": clock.value, "due_at": due})
        elif action is RungAction.ORDER_OVERDUE and receiver is not None:
            self._escalated(receiver, RungKind.CIRCULAR)
            await self._transition(SYSTEM_ACTOR, "supervision_order_overdue", None, f"{receiver}: {rung}")
            self._notify(receiver, PushKind.CIRCULAR, "order-overdue", {"rung": "circular", "due_at": due})

    async def _arm_matter_clock(self, clock: HandoffClock, step: MatterStep, started_at: datetime) -> None:
        """Arms a clock of a limit the matter may name (push, act); none when it names none, or on a run begun
        before CLOCKS_PATCH."""
        limit = self._start.matter.limits.get(step)
        if limit is not None and self._new_clocks():
            await self._arm(clock, started_at, limit)

    def _new_clocks(self) -> bool:
        return workflow.patched(CLOCKS_PATCH)

    def _escalated(self, department: str, rung: RungKind) -> None:
        """A rung of the ladder reached, counted with the transition's store write (runs on ONE_WRITE_PATCH)."""
        if self._one_write_per_transition:
            self._state.uncounted_escalations.append(Escalation(department=department, rung=rung))

    async def _arm(self, clock: HandoffClock, started_at: datetime, limit: Limit) -> None:
        request = RungScheduleRequest(
            clock=self._spec(started_at, limit), profile=_profile(self._start.matter.card_profile)
        )
        schedule = await self._answered(
            lambda: workflow.execute_activity_method(ClockActivities.schedule_rungs, request, **policies.COMPUTE),
            "legal clock",
        )
        if clock in self._state.breached:
            self._state.breached.remove(clock)
        self._clocks[clock].arm(schedule)

    async def _deadline(self, started_at: datetime, limit: Limit) -> datetime:
        spec = self._spec(started_at, limit)
        deadline = await self._answered(
            lambda: workflow.execute_activity_method(ClockActivities.compute_deadline, spec, **policies.COMPUTE),
            "legal clock",
        )
        return deadline.due_at

    async def _answered(self, ask: Callable[[], Awaitable[_T]], what: str) -> _T:
        """A lookup or computation the hand-off cannot go on without (the legal clock and the registry read the
        store): asked again after a pause while the store is down, never given up; a refusal is raised."""
        pause = self._policy.store_retry
        while True:
            try:
                return await ask()
            except ActivityError as error:
                if _business(error) is not None:
                    raise
                workflow.logger.warning("%s unavailable, asked again in %s: %s", what, pause, _cause(error))
            await workflow.sleep(pause, summary=f"{what} asked again")
            pause = min(pause * 2, self._policy.store_retry_longest)

    def _spec(self, started_at: datetime, limit: Limit) -> ClockSpec:
        return ClockSpec(
            started_at=started_at,
            limit=float(limit.amount),
            unit=clock_unit(limit.unit),
            locality=self._start.event.locality_code,
        )

    def _limit(self, step: MatterStep) -> Limit:
        limit = self._start.limit(step)
        assert limit is not None  # every step the workflow asks for has a default
        return limit

    # Cards and supervision orders.

    async def _card(
        self, level: CardLevel, department: str, reason: CardReason, step: str, due_at: datetime, version: int
    ) -> None:
        now = workflow.now()
        card_id = records.card_id(self._start, step, version, level)
        await self._record(records.card(self._start, card_id, level, department, reason, step, due_at, now))
        self._state.cards.append(
            IssuedCard(card_id=card_id, level=level, department=department, step=step, issued_at=now, reason=reason)
        )
        self._state.colour = machine.deeper(self._state.colour, SlaColour(level.value))
        await self._transition(SYSTEM_ACTOR, f"{level.value}_card", None, f"{department}: {reason.value}")
        self._notify(
            department, PushKind.CARD, f"card-{step}-{level.value}", {"level": level.value, "reason": reason.value}
        )

    async def _issue_order(self, department: str, fired: FiredRung) -> None:
        now = workflow.now()
        number = order_number(len(self._state.supervision_orders) + 1)
        order = HandoffOrder(
            order_id=supervision_order_id(self._start.handoff_id, number),
            department_code=department,
            status=SupervisionOrderStatus.ISSUED,
            deadline=await self._deadline(now, self._policy.order_answer_limit),
            issued_at=now,
        )
        self._state.supervision_orders.append(order)
        if self._new_clocks():
            await self._arm(HandoffClock.SUPERVISION_ORDER, now, self._policy.order_answer_limit)
        await self._record_order(order, "issued", f"feedback limit {fired.due_at.isoformat()} missed")
        await self._transition(SYSTEM_ACTOR, "supervision_order_issued", None, f"{order.order_id} to {department}")
        self._notify(
            department,
            PushKind.SUPERVISION_ORDER,
            number,
            {"order_id": order.order_id, "deadline": order.deadline.isoformat()},
        )

    async def _settle_orders(self, status: SupervisionOrderStatus, reason: str) -> None:
        now = workflow.now()
        self._clocks[HandoffClock.SUPERVISION_ORDER].stop()
        for order in self._state.supervision_orders:
            if order.status is SupervisionOrderStatus.LIFTED or order.status is status:
                continue
            order.status, order.seq = status, order.seq + 1
            if status is SupervisionOrderStatus.ANSWERED:
                order.answered_at = now
            else:
                order.lifted_at = now
            await self._record_order(order, status.value, reason)

    async def _record_order(self, order: HandoffOrder, action: str, reason: str) -> None:
        await self._record(records.order_transition(self._start, order, action, reason, workflow.now()))

    # Notices, audit, read model, search attributes.

    def _notify(self, department: str, kind: PushKind, what: str, body: dict[str, Any]) -> None:
        """Queues a notice; its ID is unique within the hand-off, so a redelivery is recognised by the department."""
        self._state.outbox.append(
            Push(
                push_id=f"{self._start.handoff_id}:{what}:{self._state.audit_seq}",
                department_code=department,
                kind=kind,
                subject_id=self._start.handoff_id,
                issued_at=workflow.now(),
                body={"handoff_id": self._start.handoff_id, "thread_id": self._start.thread_id, **body},
            )
        )

    async def _deliver_outbox(self) -> None:
        while True:
            await workflow.wait_condition(self._notice_due)
            push = self._state.outbox[0]
            try:
                await workflow.execute_activity_method(
                    GatewayActivities.deliver_push, push, **policies.DEPARTMENT_DELIVERY
                )
            except ActivityError as error:
                async with self._transaction():
                    await self._transition(SYSTEM_ACTOR, "notice_undelivered", None, f"{push.push_id}: {_cause(error)}")
            self._state.outbox.pop(0)

    async def _transition(
        self, actor: Actor, action: str, stage: HandoffStage | None, reason: str | None = None
    ) -> None:
        """Queues the audit entry and the read model after it, then shows the change in the Temporal UI."""
        state = self._state
        before = state.stage
        if stage is not None:
            state.stage = stage
        state.audit_seq += 1
        await self._record(records.transition(self._start, state, actor, action, before, reason, workflow.now()))
        self._publish()

    async def _record(self, write: StoreWrite) -> None:
        """Queues a store write behind any the store has not taken yet. One store call per transition writes the
        queue when the transaction ends; runs begun before ONE_WRITE_PATCH write it at once, one call a write."""
        state = self._state
        outage = bool(state.unrecorded)
        state.unrecorded.append(write)
        if not self._one_write():
            await self._flush(policies.STORE_WRITE_ONCE if outage else policies.STORE_WRITE)

    def _one_write(self) -> bool:
        """Whether this run writes one store call per transition; decided at its first write, for the whole run."""
        if self._one_write_per_transition is None:
            self._one_write_per_transition = workflow.patched(ONE_WRITE_PATCH)
        return self._one_write_per_transition

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Holds the lock for one transition; its writes go to the store in one call as it ends (an outage keeps
        them owed, retried in the background)."""
        async with self._lock:
            owed_before = bool(self._state.unrecorded)
            yield
            if self._one_write_per_transition and self._state.unrecorded and not self._flushing:
                await self._flush(policies.STORE_WRITE_ONCE if owed_before else policies.STORE_WRITE)

    async def _flush(self, config: ActivityConfig) -> None:
        """Writes the owed writes oldest first; the first the store does not take stops it, kept with the rest.

        Every write is keyed (audit sequence, card, order entry, score event), so one the store took before its
        answer was lost is taken again without a second row.
        """
        self._flushing = True
        try:
            await self._write_owed(config)
        finally:
            self._flushing = False

    async def _write_owed(self, config: ActivityConfig) -> None:
        if self._one_write_per_transition:
            await self._write_owed_at_once(config)
            return
        state = self._state
        while state.unrecorded:
            write = state.unrecorded[0]
            try:
                if write.transition is not None:
                    await workflow.execute_activity_method(
                        LedgerActivities.record_handoff_transition, write.transition, **config
                    )
                elif write.order is not None:
                    await workflow.execute_activity_method(
                        LedgerActivities.record_supervision_order, write.order, **config
                    )
                elif write.card is not None:
                    await workflow.execute_activity_method(LedgerActivities.record_card, write.card, **config)
                elif write.score is not None:
                    await workflow.execute_activity_method(LedgerActivities.record_score_event, write.score, **config)
            except ActivityError as error:
                workflow.logger.error(
                    "hand-off store write kept for later (%d owed): %s", len(state.unrecorded), _cause(error)
                )
                return
            state.unrecorded.pop(0)

    async def _write_owed_at_once(self, config: ActivityConfig) -> None:
        """The owed writes in as few store calls as their number allows, with the commands and rungs to count."""
        state = self._state
        while state.unrecorded:
            writes = state.unrecorded[:WRITES_PER_CALL]
            batch = HandoffWrites(
                handoff_id=self._start.handoff_id,
                writes=writes,
                commands=list(state.uncounted_commands),
                escalations=list(state.uncounted_escalations),
            )
            try:
                await workflow.execute_activity_method(HandoffStoreActivities.record_writes, batch, **config)
            except ActivityError as error:
                workflow.logger.error(
                    "hand-off store writes kept for later (%d owed): %s", len(state.unrecorded), _cause(error)
                )
                return
            del state.unrecorded[: len(writes)]
            state.uncounted_commands.clear()
            state.uncounted_escalations.clear()

    async def _catch_up(self) -> None:
        """Retries the owed writes in the background, so the store catches up without waiting for a transition."""
        pause = self._policy.store_retry
        while True:
            await workflow.wait_condition(self._owed_and_idle)
            await workflow.sleep(pause, summary="owed store writes retried")
            async with self._lock:
                await self._flush(policies.STORE_WRITE)
            longest, first = self._policy.store_retry_longest, self._policy.store_retry
            pause = min(pause * 2, longest) if self._state.unrecorded else first

    def _notice_due(self) -> bool:
        """A notice waits for the end of the transaction that queued it, so it goes out after its transition is
        written (runs before ONE_WRITE_PATCH wrote it before queueing the notice)."""
        in_transaction = bool(self._one_write_per_transition) and self._lock.locked()
        return bool(self._state.outbox) and not in_transaction

    def _owed_and_idle(self) -> bool:
        """Writes are owed and nobody is writing them: a transaction under way writes its own as it ends."""
        in_transaction = bool(self._one_write_per_transition) and self._lock.locked()
        return bool(self._state.unrecorded) and not self._flushing and not in_transaction

    def _publish(self) -> None:
        """Search attributes and current details; unchanged values are not upserted again."""
        wanted = presentation.search_attributes(
            self._start,
            self._state,
            with_parties=workflow.patched(PARTIES_PATCH),
            colours_apart=workflow.patched(SLA_COLOUR_PATCH),
        )
        changed = [
            key.value_set(value) if value is not None else key.value_unset()
            for key, value in wanted.items()
            if self._published.get(key.name, _UNPUBLISHED) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({key.name: value for key, value in wanted.items()})
        workflow.set_current_details(presentation.details(self._start, self._state))

    def _view(self) -> HandoffView:
        return presentation.view(self._start, self._state)


class _CommandScope:
    """Holds the lock for one command: re-checks it against the state as it is now (an earlier command may have
    changed it since validation) and remembers its ID, so a repeat of it changes nothing.

    Yields the instant of the command, or None for a repeat.
    """

    def __init__(self, owner: HandoffWorkflow, command: Command) -> None:
        self._owner = owner
        self._command = command
        self._id = ""
        self._owed_before = False

    async def __aenter__(self) -> datetime | None:
        owner, command = self._owner, self._command
        await owner._lock.acquire()
        state = owner._state
        self._owed_before = bool(state.unrecorded)
        self._id = _command_id()
        try:
            if self._id in state.handled_commands:
                machine.check_repeat(state, self._id, _applied_as(command))
                return None
            machine.check(command, state, owner._start, workflow.now())
        except Rejected as rejected:
            owner._lock.release()
            raise _rejected(rejected) from None
        return workflow.now()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        try:
            if kind is None:
                owner, state = self._owner, self._owner._state
                if self._id not in state.handled_commands and owner._one_write_per_transition:
                    info = workflow.current_update_info()
                    assert info is not None  # a command is an update
                    state.uncounted_commands.append(info.name)
                    if not owner._flushing:
                        await owner._flush(policies.STORE_WRITE_ONCE if self._owed_before else policies.STORE_WRITE)
                if self._id not in state.handled_commands:
                    state.handled_commands = machine.remembered(
                        state.handled_commands, self._id, self._owner._policy.remembered_commands
                    )
                    kept = set(state.handled_commands)
                    state.handled_as = {key: value for key, value in state.handled_as.items() if key in kept} | {
                        self._id: _applied_as(self._command)
                    }
        finally:
            self._owner._lock.release()


def _applied_as(command: Command) -> str:
    info = workflow.current_update_info()
    assert info is not None  # only update handlers and validators ask
    return machine.applied_as(info.name, command)


def _command_id() -> str:
    """The update's ID: clients retry a command under the same ID (the SDK's command id)."""
    info = workflow.current_update_info()
    assert info is not None  # only update handlers and validators ask
    return info.id


def _cause(error: ActivityError) -> str:
    cause = error.cause
    return str(cause) if cause is not None else str(error)
