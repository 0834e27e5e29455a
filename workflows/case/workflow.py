"""The case workflow: one long-lived entity per case, driven by validated updates and by its SLA clocks.

Every command is an update whose validator runs the pure rules (`machine.validate`) before anything is recorded.
A transition is carried out in a fixed order under one lock: the rules are tried on a copy of the state, the legal
clock computes every deadline the copy asks for (one activity), the rules are applied to the real state with those
deadlines, the store records it (one activity), the clocks are armed, the pushes go out in the background, and the
search attributes and the UI details follow. A repeated command id answers its first result, across runs too; the
same id with another command is refused.

A store outage never fails a command: the registry and the legal clock (which reads its calendar from the store)
are asked until the store answers again, and writes the store could not take stay pending and are retried.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, RetryState
from temporalio.workflow import ActivityConfig, LocalActivityConfig

with workflow.unsafe.imports_passed_through():
    from activities.case.activities import CaseActivities
    from activities.gateway.batch import BatchDeliveryActivities
    from activities.gateway.delivery import GatewayActivities
    from activities.intake.requester import RequesterActivities
    from activities.notify.sms import SmsActivities
    from activities.registry.lookups import RegistryActivities
    from activities.verify.calls import VerificationActivities
    from schemas import names
    from schemas.case import commands as c
    from schemas.case.records import ClockPlan, ClockPlanItem, ClockPlanRequest, PendingChanges
    from schemas.case.stages import CaseStage
    from schemas.case.state import AppliedCommand, CaseState, CaseWorkflowInput
    from schemas.case.views import CaseQuery, CaseView, Timeline, TimelineQuery
    from schemas.clock import DeadlineExtension, DeadlineSuspension, FiredRung, RungScheduleRequest
    from schemas.delivery import BatchItem, BatchOutcome, DeliveryBatch, DeliveryBatchResult, Push, SmsNotification
    from schemas.registry import CaseParties, CasePartiesQuery, DepartmentInfo, DepartmentQuery
    from schemas.rejections import ErrorType, continuing
    from workflows import policies
    from workflows.case import (
        bounds,
        channel_deadline,
        ladder,
        machine,
        presentation,
        records,
        requester,
        rules,
        verification,
    )
    from workflows.case.effects import Effects, profile_of
    from workflows.case.rules import Rejected
    from workflows.sla import Alarm, SlaClock
    from workflows.snapshot import detached_copy
    from workflows.verify.workflow import unavailable

REJECTED = ErrorType.REJECTED.value
STORE_RETRY = timedelta(minutes=5)  # the store or the clock stayed down through a whole retry policy
DELIVERY_GRACE = timedelta(minutes=1)  # how long a continue-as-new waits for pushes on their way
CONTINUE_GRACE = timedelta(seconds=5)  # the same while commands are refused (SETTLES_TO_CONTINUE_PATCH)
Change = Callable[[CaseState, datetime], Effects]

# Runs that began before these changes replay as they ran; from each marker on, a run takes the new path.
CARRIES_PUSHES_PATCH = "case-continues-with-undelivered-pushes"  # continue-as-new no longer waits for deliveries
RETRIES_WRITES_PATCH = "case-retries-pending-writes"  # pending store writes retried without waiting for a command
DROPS_REFUSED_RUNG_PATCH = "case-drops-a-rung-the-clock-refuses"  # a refusal is final: no retry every 5 minutes
# Continue-as-new refuses new commands (the engine resends them to the next run) and waits for the running ones only:
# under steady traffic a handler is always running, so waiting for quiet never ended and the run outgrew its limits.
SETTLES_TO_CONTINUE_PATCH = "case-refuses-commands-to-continue-as-new"
# The circular and the admonitory talk earn score events, and the registry's leaders' rung follows the talk.
FULL_LADDER_PATCH = "case-ladder-scores-and-leaders-rung"

# Lean transitions (bench/README.md, issue 13): the legal clock and the registry lookups run as local activities, a
# marker each in the history instead of three activity events and a workflow task, and no round trip through the
# server; the pushes and SMS of a transition go out in one activity. One patch for all of it: each patch costs every
# new case a marker and a search-attribute upsert.
LEAN_PATCH = "case-lean-transitions"
# One alarm for all the case's clocks (workflows.sla.Alarm): a durable timer to the earliest rung, where each clock
# had its own, started and cancelled as steps began and ended (bench/README.md, issue 13). Asked first in every run:
# a run begun on this code takes every path the patches above introduced without asking for them, so its history
# carries this one marker instead of one per patch.
ONE_ALARM_PATCH = "case-one-alarm"
# A command's pushes to departments without a webhook go in their inboxes in the store write that records the
# transition (case_record_changes), so no delivery activity runs for them; webhooks and SMS still go out through
# deliver_transition, as every push of a rung, a registration or a hand-over does (bench/README.md, issue 13).
# Asked first, as ONE_ALARM_PATCH was: a run that takes this path takes that one's too, without asking.
INBOX_WITH_RECORDS_PATCH = "case-inbox-with-records"


def _until_the_store_is_back(config: ActivityConfig) -> ActivityConfig:
    """The activity retried as long as its store is down: a refusal (non-retryable) still ends it at once."""
    retry = config["retry_policy"]
    assert retry is not None
    waits = dataclasses.replace(retry, maximum_attempts=0, maximum_interval=timedelta(seconds=30))
    return {**config, "retry_policy": waits}


def _locally_until_the_store_is_back(config: LocalActivityConfig) -> LocalActivityConfig:
    retry = config["retry_policy"]
    assert retry is not None
    waits = dataclasses.replace(retry, maximum_attempts=0, maximum_interval=timedelta(seconds=30))
    return {**config, "retry_policy": waits}


# Registry lookups, and the legal clock, which reads its calendar overrides from the store.
LOOKUP = _until_the_store_is_back(policies.STORE)
CLOCK = _until_the_store_is_back(policies.COMPUTE)
LOOKUP_LOCAL = _locally_until_the_store_is_back(policies.STORE_LOCAL)
CLOCK_LOCAL = _locally_until_the_store_is_back(policies.COMPUTE_LOCAL)
_DELIVERY = policies.DEPARTMENT_DELIVERY["retry_policy"]
assert _DELIVERY is not None
_DELIVERY_RETRY: RetryPolicy = _DELIVERY
# What a transition's batch did not deliver is sent on after the delivery policy's first retry interval.
FIRST_RETRY = _DELIVERY_RETRY.initial_interval
assert _DELIVERY_RETRY.maximum_interval is not None
LONGEST_RETRY = _DELIVERY_RETRY.maximum_interval
RETRY = BatchOutcome.RETRY

# The field a clock refusal concerns, by the command whose limit the clock could not count.
LIMIT_FIELDS: dict[type[c.CaseCommand], str] = {
    c.FileCommitment: "limit",
    c.DecideCommitment: "limit",
    c.RequestExtension: "amount",
    c.DecideExtension: "amount",
    c.ReviewClosingReport: "redo_limit",
    c.ReopenCase: "limit",
    c.IssueSupervisionOrder: "limit",
    c.RequestJointMeeting: "limit",
}


def rejection(rejected: Rejected) -> ApplicationError:
    """The error a client sees: type `Rejected`, the rule and the field in its details."""
    return rejected.rejection.error()


# A local activity's failure reaches the workflow as the activity's own error, a remote one's as an ActivityError
# whose cause it is: whoever catches one catches both.
LookupFailure = (ActivityError, ApplicationError)


def _business_error(error: ActivityError | ApplicationError) -> ApplicationError | None:
    """A refusal: an ApplicationError raised non-retryable."""
    cause = error.cause if isinstance(error, ActivityError) else error
    return cause if isinstance(cause, ApplicationError) and cause.non_retryable else None


def _cause(error: ActivityError) -> str:
    return str(error.cause.message if isinstance(error.cause, ApplicationError) else error)


def same_command(earlier: AppliedCommand, name: str, command: c.CaseCommand) -> None:
    """A repeated command id must carry the same command from the same actor; else it is another command."""
    used = f"command id {earlier.update_id} was used for {earlier.result.command}"
    if earlier.result.command != name:
        raise Rejected("command_id.reused", "command_id", f"{used}, not {name}: a new command needs a new id")
    actor = earlier.actor
    if actor is not None and (actor.department, actor.role) != (command.actor.department, command.actor.role):
        raise Rejected(
            "command_id.reused",
            "command_id",
            f"{used} by {actor.label}, not {command.actor.label}: a new command needs a new id",
        )


@workflow.defn(name=names.CASE_WORKFLOW)
class CaseWorkflow:
    @workflow.init
    def __init__(self, start: CaseWorkflowInput) -> None:
        registration = start.registration
        now = workflow.now()
        received = registration.received_at
        self._state = start.state or CaseState(
            # The workflow's own ID: a case started under the earlier ID format keeps it across a worker upgrade.
            case_id=workflow.info().workflow_id,
            registration=registration,
            registered_at=min(received, now) if received else now,
        )
        self._continued = start.state is not None
        self._lock = asyncio.Lock()
        self._inboxes_with_records = workflow.patched(INBOX_WITH_RECORDS_PATCH)
        self._current = self._inboxes_with_records or workflow.patched(ONE_ALARM_PATCH)
        self._alarm = Alarm() if self._current else None
        self._clocks: dict[str, SlaClock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0  # rung callbacks and failed deliveries waiting to record a transition
        self._deliveries = 0  # pushes and SMS on their way
        self._write_failed = not self._state.unrecorded.empty  # the store refused the last write: retry it
        self._continuing = False  # this run waits for its handlers to finish, then continues as new

    # The run: register, then live until rejected, terminated, or closed past the reopen window.

    @workflow.run
    async def run(self, start: CaseWorkflowInput) -> CaseView:
        if self._alarm is not None:
            self._spawn(self._alarm.run())
        if self._continued:
            self._resume_after_continue_as_new()
        else:
            await self._register()
        while not self._over():
            try:
                await workflow.wait_condition(
                    partial(self._moved_on, self._state.seq, self._write_failed),
                    timeout=self._next_wake(),
                    timeout_summary=self._wake_summary(),
                )
            except TimeoutError:
                await self._retry_writes()
                continue
            if self._continue_as_new_due() or self._outgrown():
                await self._continue_as_new()
        await self._drain()
        for clock in self._clocks.values():
            clock.close()
        if self._alarm is not None:
            self._alarm.close()
        return presentation.view(self._state)

    def _since(self, patch: str) -> bool:
        """Whether this run takes the path `patch` introduced: always when the run began on the current code."""
        return self._current or workflow.patched(patch)

    async def _continue_as_new(self) -> None:
        if self._since(SETTLES_TO_CONTINUE_PATCH):
            # New commands are refused from now on. Pushes get a few seconds to arrive; those still retrying go with
            # the state, and the next run sends them again under the same ids.
            self._continuing = True
            try:
                await workflow.wait_condition(self._quiet, timeout=CONTINUE_GRACE, timeout_summary="pushes out")
            except TimeoutError:
                await workflow.wait_condition(self._settled)
        elif self._since(CARRIES_PUSHES_PATCH):
            # Pushes get a moment to arrive; those still retrying go with the state, and the next run sends them
            # again under the same ids (an attempt this run leaves behind is answered, and ignored, as a repeat).
            try:
                await workflow.wait_condition(self._quiet, timeout=DELIVERY_GRACE, timeout_summary="pushes out")
            except TimeoutError:
                await workflow.wait_condition(self._settled)
        else:
            await workflow.wait_condition(self._quiet)
        self._state.runs += 1
        size = bounds.fit(self._state)
        if size > self._state.registration.policy.state_bytes:
            workflow.logger.warning("case state is %d bytes after trimming its timeline", size)
        workflow.continue_as_new(CaseWorkflowInput(registration=self._state.registration, state=self._state))

    def _outgrown(self) -> bool:
        """The state nears what a continue-as-new input may carry: continue now, with a trimmed timeline."""
        return bounds.size(self._state) > self._state.registration.policy.state_bytes

    async def _drain(self) -> None:
        """Before the case completes: every handler done, every push out, and the store holding every write."""
        while True:
            await workflow.wait_condition(self._quiet)
            if self._state.unrecorded.empty:
                return
            async with self._lock:
                await self._flush_store()
            if not self._state.unrecorded.empty:
                await workflow.sleep(STORE_RETRY, summary="store write retried")

    def _next_wake(self) -> timedelta | None:
        """When the run wakes without a transition: to retry a pending write, or when the reopen window closes."""
        window = self._reopen_window_left()
        if not self._write_failed or not self._since(RETRIES_WRITES_PATCH):
            return window
        return STORE_RETRY if window is None else min(window, STORE_RETRY)

    def _wake_summary(self) -> str:
        return "store write retried" if self._write_failed else "reopen window closes"

    async def _retry_writes(self) -> None:
        if not self._write_failed or not self._since(RETRIES_WRITES_PATCH):
            return
        async with self._lock:
            await self._flush_store()

    def _moved_on(self, seen: int, write_failed: bool) -> bool:
        """A transition since `seen` (which may close or reopen the case), a store write that failed or went through
        since, or the server asks to continue as new."""
        return self._state.seq != seen or self._write_failed != write_failed or self._continue_as_new_due()

    def _over(self) -> bool:
        stage = self._state.stage
        if stage in (CaseStage.REJECTED, CaseStage.TERMINATED):
            return True
        left = self._reopen_window_left()
        return left is not None and left <= timedelta(0)

    def _reopen_window_left(self) -> timedelta | None:
        closes = self._state.reopen_closes_at
        if self._state.stage is not CaseStage.CLOSED or closes is None:
            return None
        return max(closes - workflow.now(), timedelta(0))

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        limit = self._state.registration.policy.max_history_events
        return info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() >= limit)

    def _settled(self) -> bool:
        """No command or rung is under way: the state is whole; pushes may still be on their way."""
        return workflow.all_handlers_finished() and self._in_flight == 0 and not self._lock.locked()

    def _quiet(self) -> bool:
        """Settled, and no push or SMS is on its way: no activity is outstanding."""
        return self._settled() and self._deliveries == 0

    async def _register(self) -> None:
        async with self._lock:
            now = workflow.now()
            try:
                parties = await self._resolve_parties()
            except ApplicationError as error:
                await self._refuse_registration(f"the registry cannot place this case: {error.message}", now)
                return
            # Only a case whose channel set a deadline asks for the patch: others replay, and run, as before.
            timed = channel_deadline.applies(self._state) and self._since(channel_deadline.PATCH)
            try:
                await self._transact(
                    lambda state, at: machine.register(state, parties, timed_from=at if timed else None), now
                )
            except Rejected as rejected:
                # The matter's own accept limit is one the legal clock cannot count.
                await self._refuse_registration(f"the registry's limits cannot be counted: {rejected}", now)

    async def _refuse_registration(self, why: str, now: datetime) -> None:
        await self._transact(lambda state, at: machine.refuse_registration(state, why, at), now)

    async def _resolve_parties(self) -> CaseParties:
        registration = self._state.registration
        query = CasePartiesQuery(matter_code=registration.matter_code, locality_code=registration.locality_code)
        try:
            if self._since(LEAN_PATCH):
                parties = await workflow.execute_local_activity_method(
                    RegistryActivities.resolve_case_parties, query, **LOOKUP_LOCAL
                )
            else:
                parties = await workflow.execute_activity_method(
                    RegistryActivities.resolve_case_parties, query, **LOOKUP
                )
            for unit in registration.co_units:
                department = await self._department(unit.department)
                if not department.active:
                    raise ApplicationError(f"co-unit {unit.department} is inactive", type=REJECTED)
        except LookupFailure as error:
            business = _business_error(error)
            if business is None:
                raise
            raise business from None
        return parties

    def _resume_after_continue_as_new(self) -> None:
        for key in self._state.clocks:
            self._watch(key)
        outbox = self._state.outbox
        self._send_out(outbox.pushes, outbox.sms)
        self._publish()

    # Commands.

    async def _command(self, command: c.CaseCommand) -> c.CommandResult:
        info = workflow.current_update_info()
        assert info is not None
        # A command sent right after the start may run before the run method has registered the case (resolved
        # its parties); it waits for the registration's transition, then is checked again under the lock.
        await workflow.wait_condition(lambda: self._state.seq > 0)
        async with self._lock:
            now = workflow.now()
            try:
                earlier = self._applied(info.id)
                if earlier is not None:
                    same_command(earlier, info.name, command)
                    return earlier.result
                machine.validate(self._state, command, now)
                await self._check_departments(command)
                apply = machine.apply
                effects = await self._transact(lambda state, at: apply(state, command, at), now, command, info.name)
            except Rejected as rejected:
                raise rejection(rejected) from None
            result = c.CommandResult(
                case_id=self._state.case_id,
                command=info.name,
                update_id=info.id,
                stage=self._state.stage,
                seq=self._state.seq,
                applied_at=now,
                subject_id=effects.subject_id,
            )
            # Department and role only: what a repeat is compared by, without the credential's text.
            actor = c.Actor(department=command.actor.department, role=command.actor.role)
            self._state.applied.append(AppliedCommand(update_id=info.id, result=result, actor=actor))
            del self._state.applied[: -self._state.registration.policy.applied_commands_kept]
            return result

    def _validate(self, command: c.CaseCommand) -> None:
        if self._continuing:
            # New commands wait for the next run, which the engine sends them to again (SETTLES_TO_CONTINUE_PATCH).
            raise continuing("the case")
        info = workflow.current_update_info()
        try:
            earlier = self._applied(info.id) if info is not None else None
            if earlier is not None:
                assert info is not None
                same_command(earlier, info.name, command)
                return  # a repeat: the handler answers the first result
            machine.validate(self._state, command, workflow.now())
        except Rejected as rejected:
            raise rejection(rejected) from None

    def _applied(self, update_id: str) -> AppliedCommand | None:
        for applied in self._state.applied:
            if applied.update_id == update_id:
                return applied
        return None

    async def _check_departments(self, command: c.CaseCommand) -> None:
        """A reroute's new department must exist and be active in the registry."""
        target = getattr(command, "to_department", None)
        if target is None:
            return
        try:
            department = await self._department(target)
        except LookupFailure as error:
            business = _business_error(error)
            if business is None:
                raise
            raise Rejected("reroute.unknown-department", "to_department", business.message) from None
        if not department.active:
            raise Rejected("reroute.inactive-department", "to_department", f"{target} is inactive in the registry")

    async def _department(self, code: str) -> DepartmentInfo:
        if self._since(LEAN_PATCH):
            return await workflow.execute_local_activity_method(
                RegistryActivities.get_department, DepartmentQuery(code=code), **LOOKUP_LOCAL
            )
        return await workflow.execute_activity_method(
            RegistryActivities.get_department, DepartmentQuery(code=code), **LOOKUP
        )

    # Transitions: try on a copy, compute deadlines, apply, record, arm, push, publish.

    async def _transact(
        self, change: Change, now: datetime, command: c.CaseCommand | None = None, name: str | None = None
    ) -> Effects:
        # The rules only append to the timeline and never read the remembered commands: copy neither, O(1) a command.
        preview = change(detached_copy(self._state.model_copy(update={"timeline": [], "applied": []})), now)
        plan = await self._plan(preview, command)
        if isinstance(command, c.DecideCommitment):
            self._check_committed_deadline(plan, now)
        effects = change(self._state, now)
        channel_deadline.end_if_answered(self._state, effects)
        self._settle(effects, plan)
        if self._state.registration.channel is not None and self._since(requester.PATCH):
            requester.tell(self._state, effects, command)
        if not effects.to_record:
            presentation.details(self._state)
            return effects
        self._state.unrecorded = records.pending(self._state, effects, name)
        # A command's pushes only: a rung's card is what the 17:30 instant waits for, and its push follows it.
        inboxes = self._inboxes_with_records and command is not None
        held = await self._flush_store(effects.pushes if inboxes else ())
        pushes = [push for push in effects.pushes if push.push_id not in held]
        outbox = self._state.outbox
        outbox.pushes += pushes
        outbox.sms += effects.sms
        self._send_out(pushes, effects.sms)
        self._publish()
        return effects

    async def _plan(self, effects: Effects, command: c.CaseCommand | None) -> ClockPlan:
        state = self._state
        profile = profile_of(state)
        items = [
            ClockPlanItem(key=start.key, schedule=RungScheduleRequest(clock=start.spec, profile=profile))
            for start in effects.clock_starts
            if start.schedule is None
        ]
        items += [ClockPlanItem(key=f"window:{window.target}", window=window.spec) for window in effects.windows]
        items += [
            ClockPlanItem(
                key=key,
                extension=DeadlineExtension(clock=state.clocks[key].spec, extension=amount, profile=profile),
            )
            for key, amount in effects.clock_extensions.items()
        ]
        items += [
            ClockPlanItem(
                key=key, suspension=DeadlineSuspension(clock=state.clocks[key].spec, pause=pause, profile=profile)
            )
            for key, pause in effects.clock_resumes.items()
        ]
        if not items:
            return ClockPlan(results=[])
        request = ClockPlanRequest(items=items)
        try:
            if self._since(LEAN_PATCH):
                return await workflow.execute_local_activity_method(CaseActivities.plan_clocks, request, **CLOCK_LOCAL)
            return await workflow.execute_activity_method(CaseActivities.plan_clocks, request, **CLOCK)
        except LookupFailure as error:
            refusal = _business_error(error)
            if refusal is None:
                raise
            # Nothing has changed yet: the command is refused, by the field whose limit the clock cannot count.
            field = LIMIT_FIELDS.get(type(command)) if command is not None else None
            raise Rejected("clock.refused", field, f"the legal clock cannot count it: {refusal.message}") from None

    @staticmethod
    def _check_committed_deadline(plan: ClockPlan, now: datetime) -> None:
        result = plan.by_key().get("deadline")
        if result is not None and result.schedule is not None and result.schedule.deadline.due_at <= now:
            due = result.schedule.deadline.due_at.isoformat()
            raise Rejected(
                "commitment.deadline-passed", "limit", f"the limit counted from receipt ended at {due}: commit more"
            )

    def _settle(self, effects: Effects, plan: ClockPlan) -> None:
        """Puts the computed deadlines into the state and the clocks: stop, start, suspend, move."""
        state = self._state
        results = plan.by_key()
        for key in effects.clock_ends:
            clock = self._clocks.pop(key, None)
            if clock is not None:
                clock.close()
            machine.untrack(state, key)
        for start in effects.clock_starts:
            schedule = start.schedule or results[start.key].schedule
            assert schedule is not None
            machine.track(state, start, schedule.deadline.clock, schedule.deadline.estimated)
            self._watch(start.key).arm(schedule)
            machine.set_due(state, start.key, schedule.deadline.due_at)
            machine.explain(state, start.key, schedule.deadline)
        for key in effects.clock_suspends:
            self._clocks[key].suspend()
        for key in [*effects.clock_extensions, *effects.clock_resumes]:
            change = results[key].change
            assert change is not None
            state.clocks[key].spec = change.clock
            state.clocks[key].estimated = change.schedule.deadline.estimated
            self._clocks[key].arm(change.schedule)
            machine.set_due(state, key, change.schedule.deadline.due_at)
            machine.explain(state, key, change.schedule.deadline)
        for window in effects.windows:
            deadline = results[f"window:{window.target}"].deadline
            assert deadline is not None
            machine.set_window(state, window.target, deadline.due_at)
        for watched in state.clocks.values():
            watched.colour = rules.clock_colour(watched)

    async def _flush_store(self, pushes: Sequence[Push] = ()) -> set[str]:
        """Writes what the store has not confirmed; on an outage it stays pending for the next transition. With it,
        `pushes` to departments without a webhook go in their inboxes: the ids of those it put there (none when the
        write failed: then every push goes out the delivery's way)."""
        writes = self._state.unrecorded
        if writes.empty:
            return set()
        changes = records.case_changes(self._state, writes, pushes)
        try:
            recorded = await workflow.execute_activity_method(CaseActivities.record_changes, changes, **policies.STORE)
        except ActivityError as error:
            workflow.logger.error("case store write failed; kept for the next transition: %s", error.cause)
            self._write_failed = True
            return set()
        self._state.unrecorded = PendingChanges()
        self._write_failed = False
        return set(recorded.held)

    # SLA clocks.

    def _watch(self, key: str) -> SlaClock:
        clock = self._clocks.get(key)
        if clock is None:
            clock = SlaClock(self._state.clocks[key].sla, lambda fired: self._on_rung(key, fired), alarm=self._alarm)
            self._clocks[key] = clock
            self._spawn(clock.run())
        return clock

    async def _on_rung(self, key: str, fired: FiredRung) -> None:
        self._in_flight += 1
        try:
            while True:
                async with self._lock:
                    clock = self._state.clocks.get(key)
                    if clock is None or clock.sla.deadline_version != fired.deadline_version:
                        return  # the step was done, or its deadline moved, while the rung waited for the lock
                    full = ladder.climbs_to_the_top(fired.kind) and self._since(FULL_LADDER_PATCH)

                    def fire(state: CaseState, at: datetime, full: bool = full) -> Effects:
                        return machine.fire(state, key, fired.kind, at, full_ladder=full)

                    try:
                        await self._transact(fire, workflow.now())
                        return
                    except Rejected as refused:
                        # The clock refuses a limit the rung would start (a registry limit): asking again cannot help.
                        workflow.logger.error("rung %s of %s not carried out: %s", fired.kind, key, refused)
                        if self._since(DROPS_REFUSED_RUNG_PATCH):
                            return
                    except LookupFailure as error:
                        # The legal clock failed before anything changed: a rung is never dropped, only late.
                        workflow.logger.error("rung %s of %s not carried out yet: %s", fired.kind, key, error.cause)
                await workflow.sleep(STORE_RETRY, summary=f"{fired.kind.value} of {key} retried")
        finally:
            self._in_flight -= 1

    # Pushes and SMS: in the background, so a department that is down for hours never holds up a command. A push
    # the department's system does not take within the policy's attempts goes to its inbox, and the coordinator is
    # told; continue-as-new carries what is still on its way (the outbox), and completion waits for it.

    def _spawn(self, work: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send(self, work: object) -> None:
        # Counted when spawned, not when first run, so no continue-as-new can slip in between.
        self._deliveries += 1
        self._spawn(work)

    def _send_out(self, pushes: list[Push], sms: list[SmsNotification]) -> None:
        """A transition's pushes and SMS: tried once together in one activity in a lean run (LEAN_PATCH), and what
        that try did not deliver sent on one activity each, as every push and SMS was before."""
        if not pushes and not sms:
            return
        if self._since(LEAN_PATCH):
            self._send(self._deliver_together(list(pushes), list(sms)))
            return
        for push in pushes:
            self._send(self._deliver(push))
        for text in sms:
            self._send(self._send_sms(text))

    async def _deliver_together(self, pushes: list[Push], sms: list[SmsNotification]) -> None:
        try:
            batch = DeliveryBatch(pushes=pushes, sms=sms)
            config: ActivityConfig = {**policies.BATCH_DELIVERY, "summary": f"{len(pushes)} pushes, {len(sms)} SMS"}
            try:
                result = await workflow.execute_activity_method(
                    BatchDeliveryActivities.deliver_transition, batch, **config
                )
            except ActivityError as error:
                if isinstance(error.cause, CancelledError):
                    return  # continuing as new: they stay in the outbox for the next run
                workflow.logger.warning("delivery of a transition failed; sent one by one: %s", error.cause)
                result = DeliveryBatchResult()
            except asyncio.CancelledError:
                return
            retry = BatchItem(outcome=BatchOutcome.RETRY)
            pushed = result.pushes[: len(pushes)] + [retry] * max(0, len(pushes) - len(result.pushes))
            texted = result.sms[: len(sms)] + [retry] * max(0, len(sms) - len(result.sms))
            for text, tried in zip(sms, texted, strict=True):
                if tried.outcome is BatchOutcome.REFUSED:
                    workflow.logger.warning("sms %s not sent: %s", text.notification_id, tried.why)
                if tried.outcome is not BatchOutcome.RETRY:
                    self._sms_out(text)
            for push, tried in zip(pushes, pushed, strict=True):
                if tried.outcome is BatchOutcome.DONE:
                    self._out(push)
                elif tried.outcome is BatchOutcome.REFUSED:
                    await self._undelivered(push, tried.why or "refused", exhausted=False)
            again = [(push, tried) for push, tried in zip(pushes, pushed, strict=True) if tried.outcome is RETRY]
            texts = [text for text, tried in zip(sms, texted, strict=True) if tried.outcome is RETRY]
            if again or texts:
                # The policy's first retry interval, or longer when a department asked for it (Retry-After).
                asked = [tried.retry_after for _, tried in again if tried.retry_after is not None]
                try:
                    await workflow.sleep(min(max([FIRST_RETRY, *asked]), LONGEST_RETRY), summary="deliveries retried")
                except asyncio.CancelledError:
                    return  # continuing as new: they stay in the outbox for the next run
            for push, _ in again:
                self._send(self._deliver(push))
            for text in texts:
                self._send(self._send_sms(text))
        finally:
            self._deliveries -= 1

    def _attempts(self, config: ActivityConfig) -> ActivityConfig:
        retry = dataclasses.replace(_DELIVERY_RETRY, maximum_attempts=self._state.registration.policy.push_attempts)
        return {**config, "retry_policy": retry}

    async def _deliver(self, push: Push) -> None:
        try:
            delivery: ActivityConfig = {
                **self._attempts(policies.DEPARTMENT_DELIVERY),
                "summary": f"{push.kind.value} to {push.department_code}",
            }
            await workflow.execute_activity_method(GatewayActivities.deliver_push, push, **delivery)
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                return  # continuing as new: the push stays in the outbox for the next run
            exhausted = error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
            await self._undelivered(push, _cause(error), exhausted=exhausted)
        except asyncio.CancelledError:
            return  # continuing as new, as above
        else:
            self._out(push)
        finally:
            self._deliveries -= 1

    async def _undelivered(self, push: Push, why: str, *, exhausted: bool) -> None:
        """A push refused for good, or still undelivered after its last attempt (then handed to the inbox)."""
        self._out(push)
        self._in_flight += 1
        try:
            async with self._lock:
                if exhausted:
                    attempts = self._state.registration.policy.push_attempts
                    handed = machine.delivery_handed_over
                    await self._transact(lambda state, at: handed(state, push, attempts, why, at), workflow.now())
                else:
                    failed = machine.delivery_failed
                    await self._transact(lambda state, at: failed(state, push, why, at), workflow.now())
        finally:
            self._in_flight -= 1

    def _out(self, push: Push) -> None:
        self._state.outbox.pushes = [kept for kept in self._state.outbox.pushes if kept.push_id != push.push_id]

    async def _send_sms(self, sms: SmsNotification) -> None:
        try:
            send = RequesterActivities.text_requester if sms.to_requester else SmsActivities.send_sms
            await workflow.execute_activity_method(send, sms, **self._attempts(policies.DEPARTMENT_DELIVERY))
        except ActivityError as error:
            if isinstance(error.cause, CancelledError):
                return  # continuing as new: sent again by the next run
            # The push is the record; an SMS that cannot go out (no roster phone) is only logged.
            workflow.logger.warning("sms %s not sent: %s", sms.notification_id, error.cause)
        except asyncio.CancelledError:
            return
        finally:
            self._deliveries -= 1
        self._sms_out(sms)

    def _sms_out(self, sms: SmsNotification) -> None:
        outbox = self._state.outbox
        outbox.sms = [kept for kept in outbox.sms if kept.notification_id != sms.notification_id]

    # What supervisors see.

    def _publish(self) -> None:
        # A lean run began after the parties were published: it need not ask (and pay) for their patch too.
        with_parties = self._since(LEAN_PATCH) or self._since(presentation.PARTIES_PATCH)
        with_sla_colour = self._since(LEAN_PATCH) or self._since(presentation.SLA_COLOUR_PATCH)
        current = workflow.info().typed_search_attributes
        updates = presentation.search_attribute_updates(
            self._state, current, with_parties=with_parties, with_sla_colour=with_sla_colour
        )
        if updates:
            workflow.upsert_search_attributes(updates)
        presentation.details(self._state)

    @workflow.query(name="state")
    def state(self, query: CaseQuery) -> CaseView:
        return presentation.view(self._state)

    @workflow.query(name="timeline")
    def timeline(self, query: TimelineQuery) -> Timeline:
        return presentation.timeline(self._state, query)

    # The commands, one update each (DESIGN.md §2).

    @workflow.update(name="accept")
    async def accept(self, command: c.AcceptCase) -> c.CommandResult:
        return await self._command(command)

    @accept.validator
    def _check_accept(self, command: c.AcceptCase) -> None:
        self._validate(command)

    @workflow.update(name="reject")
    async def reject(self, command: c.RejectCase) -> c.CommandResult:
        return await self._command(command)

    @reject.validator
    def _check_reject(self, command: c.RejectCase) -> None:
        self._validate(command)

    @workflow.update(name="sign")
    async def sign(self, command: c.SignAssignment) -> c.CommandResult:
        return await self._command(command)

    @sign.validator
    def _check_sign(self, command: c.SignAssignment) -> None:
        self._validate(command)

    @workflow.update(name="request_return")
    async def request_return(self, command: c.RequestReturn) -> c.CommandResult:
        return await self._command(command)

    @request_return.validator
    def _check_request_return(self, command: c.RequestReturn) -> None:
        self._validate(command)

    @workflow.update(name="reroute")
    async def reroute(self, command: c.RerouteAssignment) -> c.CommandResult:
        return await self._command(command)

    @reroute.validator
    def _check_reroute(self, command: c.RerouteAssignment) -> None:
        self._validate(command)

    @workflow.update(name="rule_on_return")
    async def rule_on_return(self, command: c.RuleOnReturn) -> c.CommandResult:
        return await self._command(command)

    @rule_on_return.validator
    def _check_rule_on_return(self, command: c.RuleOnReturn) -> None:
        self._validate(command)

    @workflow.update(name="commit")
    async def commit(self, command: c.FileCommitment) -> c.CommandResult:
        return await self._command(command)

    @commit.validator
    def _check_commit(self, command: c.FileCommitment) -> None:
        self._validate(command)

    @workflow.update(name="cosign_commitment")
    async def cosign_commitment(self, command: c.CosignCommitment) -> c.CommandResult:
        return await self._command(command)

    @cosign_commitment.validator
    def _check_cosign_commitment(self, command: c.CosignCommitment) -> None:
        self._validate(command)

    @workflow.update(name="decide_commitment")
    async def decide_commitment(self, command: c.DecideCommitment) -> c.CommandResult:
        return await self._command(command)

    @decide_commitment.validator
    def _check_decide_commitment(self, command: c.DecideCommitment) -> None:
        self._validate(command)

    @workflow.update(name="report_progress")
    async def report_progress(self, command: c.ReportProgress) -> c.CommandResult:
        return await self._command(command)

    @report_progress.validator
    def _check_report_progress(self, command: c.ReportProgress) -> None:
        self._validate(command)

    @workflow.update(name="request_extension")
    async def request_extension(self, command: c.RequestExtension) -> c.CommandResult:
        return await self._command(command)

    @request_extension.validator
    def _check_request_extension(self, command: c.RequestExtension) -> None:
        self._validate(command)

    @workflow.update(name="decide_extension")
    async def decide_extension(self, command: c.DecideExtension) -> c.CommandResult:
        return await self._command(command)

    @decide_extension.validator
    def _check_decide_extension(self, command: c.DecideExtension) -> None:
        self._validate(command)

    @workflow.update(name="suspend")
    async def suspend(self, command: c.SuspendCase) -> c.CommandResult:
        return await self._command(command)

    @suspend.validator
    def _check_suspend(self, command: c.SuspendCase) -> None:
        self._validate(command)

    @workflow.update(name="resume")
    async def resume(self, command: c.ResumeCase) -> c.CommandResult:
        return await self._command(command)

    @resume.validator
    def _check_resume(self, command: c.ResumeCase) -> None:
        self._validate(command)

    @workflow.update(name="submit_closing_report")
    async def submit_closing_report(self, command: c.SubmitClosingReport) -> c.CommandResult:
        return await self._command(command)

    @submit_closing_report.validator
    def _check_submit_closing_report(self, command: c.SubmitClosingReport) -> None:
        self._validate(command)

    @workflow.update(name="cosign_closing_report")
    async def cosign_closing_report(self, command: c.CosignClosingReport) -> c.CommandResult:
        return await self._command(command)

    @cosign_closing_report.validator
    def _check_cosign_closing_report(self, command: c.CosignClosingReport) -> None:
        self._validate(command)

    @workflow.update(name="review")
    async def review(self, command: c.ReviewClosingReport) -> c.CommandResult:
        return await self._command(command)

    @review.validator
    def _check_review(self, command: c.ReviewClosingReport) -> None:
        self._validate(command)

    @workflow.update(name="rate_follow_up")
    async def rate_follow_up(self, command: c.RateFollowUp) -> c.CommandResult:
        return await self._command(command)

    @rate_follow_up.validator
    def _check_rate_follow_up(self, command: c.RateFollowUp) -> None:
        self._validate(command)

    @workflow.update(name="write_off")
    async def write_off(self, command: c.WriteOff) -> c.CommandResult:
        return await self._command(command)

    @write_off.validator
    def _check_write_off(self, command: c.WriteOff) -> None:
        self._validate(command)

    @workflow.update(name="reopen")
    async def reopen(self, command: c.ReopenCase) -> c.CommandResult:
        return await self._command(command)

    @reopen.validator
    def _check_reopen(self, command: c.ReopenCase) -> None:
        self._validate(command)

    @workflow.update(name="terminate")
    async def terminate(self, command: c.TerminateCase) -> c.CommandResult:
        return await self._command(command)

    @terminate.validator
    def _check_terminate(self, command: c.TerminateCase) -> None:
        self._validate(command)

    @workflow.update(name="issue_supervision_order")
    async def issue_supervision_order(self, command: c.IssueSupervisionOrder) -> c.CommandResult:
        return await self._command(command)

    @issue_supervision_order.validator
    def _check_issue_supervision_order(self, command: c.IssueSupervisionOrder) -> None:
        self._validate(command)

    @workflow.update(name="receive_supervision_order")
    async def receive_supervision_order(self, command: c.ReceiveSupervisionOrder) -> c.CommandResult:
        return await self._command(command)

    @receive_supervision_order.validator
    def _check_receive_supervision_order(self, command: c.ReceiveSupervisionOrder) -> None:
        self._validate(command)

    @workflow.update(name="answer_supervision_order")
    async def answer_supervision_order(self, command: c.AnswerSupervisionOrder) -> c.CommandResult:
        return await self._command(command)

    @answer_supervision_order.validator
    def _check_answer_supervision_order(self, command: c.AnswerSupervisionOrder) -> None:
        self._validate(command)

    @workflow.update(name="lift_supervision_order")
    async def lift_supervision_order(self, command: c.LiftSupervisionOrder) -> c.CommandResult:
        return await self._command(command)

    @lift_supervision_order.validator
    def _check_lift_supervision_order(self, command: c.LiftSupervisionOrder) -> None:
        self._validate(command)

    @workflow.update(name="comment")
    async def comment(self, command: c.CommentOnCase) -> c.CommandResult:
        return await self._command(command)

    @comment.validator
    def _check_comment(self, command: c.CommentOnCase) -> None:
        self._validate(command)

    # Appeals and the leaders' joint meeting (issue 14).

    @workflow.update(name=names.CASE_REVOKE_CARD)
    async def revoke_card(self, command: c.RevokeCard) -> c.CommandResult:
        return await self._command(command)

    @revoke_card.validator
    def _check_revoke_card(self, command: c.RevokeCard) -> None:
        self._validate(command)

    @workflow.update(name=names.CASE_REQUEST_JOINT_MEETING)
    async def request_joint_meeting(self, command: c.RequestJointMeeting) -> c.CommandResult:
        return await self._command(command)

    @request_joint_meeting.validator
    def _check_request_joint_meeting(self, command: c.RequestJointMeeting) -> None:
        self._validate(command)

    @workflow.update(name=names.CASE_RECORD_MEETING_OUTCOME)
    async def record_meeting_outcome(self, command: c.RecordMeetingOutcome) -> c.CommandResult:
        return await self._command(command)

    @record_meeting_outcome.validator
    def _check_record_meeting_outcome(self, command: c.RecordMeetingOutcome) -> None:
        self._validate(command)

    # Verification calls (issue 16): a party checks a fact in another department's system and attaches the outcome.

    @workflow.update(name=names.CASE_VERIFY_FACT)
    async def verify_fact(self, command: c.VerifyFact) -> c.CommandResult:
        """Checked, then the call (outside the lock: other commands go on while the answering system is asked), then
        the outcome applied as an `AttachVerification` under the lock, checked again there. A repeat answers the
        first result; a department without the registry's grant is refused and nothing is attached."""
        info = workflow.current_update_info()
        assert info is not None
        await workflow.wait_condition(lambda: self._state.seq > 0)
        earlier = self._applied(info.id)
        if earlier is None:
            try:
                machine.validate(self._state, command, workflow.now())
            except Rejected as rejected:
                raise rejection(rejected) from None
            request = verification.request(self._state, command, info.id)
            try:
                result = await workflow.execute_activity_method(
                    VerificationActivities.verify, request, **policies.VERIFICATION
                )
            except ActivityError as error:
                result = unavailable(request, error)
            try:
                attach = verification.attachment(command, result)
            except Rejected as rejected:
                raise rejection(rejected) from None
            return await self._command(attach)
        return await self._command(command)

    @verify_fact.validator
    def _check_verify_fact(self, command: c.VerifyFact) -> None:
        self._validate(command)
