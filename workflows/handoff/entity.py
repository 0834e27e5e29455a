"""The hand-off entity workflow: one push to one receiving department, closed by its claim, feedback and the
originator's acknowledgement (DESIGN.md §3), with SLA timers from the legal clock on every step.

The shell of the rules in `machine` and `ladder`: every command is an update its validator checks
(`machine.check`); under one lock the handler checks it again, asks what the rules need from outside (`asks`: the
registry for a reroute, the admission of a feedback's findings), applies the rules to a `Change`, and carries out
its effects in their order (`transitions`: clocks armed and stopped, store writes and notices queued, the Temporal UI
told). A transition's writes go to the store in one activity as it ends (`writes`). A repeated command id answers its
first result, across runs too; the same id with another command is refused. While it continues as new, the hand-off
refuses commands with the temporary `Continuing`, which the engine sends again to the next run.

The push, the SMS and the outbox of notices are `delivery`'s; writes the store did not take stay owed in the state
and are retried in the background, so an outage never fails a command nor ends an SLA clock; the hand-off does not
complete before the store holds them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.verify.calls import VerificationActivities
    from schemas import names
    from schemas.clock import FiredRung, SlaClockState
    from schemas.handoff import (
        Acknowledge,
        Claim,
        Command,
        HandoffClock,
        HandoffInput,
        HandoffState,
        HandoffView,
        LoopTwoStarted,
        Reroute,
        ReturnPush,
        SendFeedback,
        StartActing,
        Terminate,
        VerifyFact,
    )
    from schemas.rejections import Rejected, continuing
    from schemas.verification import VerificationResult
    from workflows import policies
    from workflows.handoff import asks, ladder, machine, presentation, verification
    from workflows.handoff.delivery import Deliveries, cause
    from workflows.handoff.effects import Rules, clock_spec
    from workflows.handoff.transitions import Transitions
    from workflows.handoff.writes import OwedWrites, lean
    from workflows.sla import SlaClock
    from workflows.verify.workflow import unavailable


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
        self._continuing = False  # commands are refused until the next run takes them
        self._writes = OwedWrites(self._start, self._state, self._lock)
        self._transitions = Transitions(self._start, self._state, self._writes, self._clocks, input.carried is not None)
        self._apply = self._transitions.apply
        self._deliveries = Deliveries(self._start, self._state, self._writes, self._transaction, self._apply)

    @workflow.run
    async def run(self, input: HandoffInput) -> HandoffView:
        if lean():  # asked first, so a new run's marker comes before anything it decides
            self._writes.one_per_transition = True
        clock_tasks = [asyncio.create_task(clock.run()) for clock in self._clocks.values()]
        postman = asyncio.create_task(self._deliveries.deliver_outbox())
        self._catching_up = asyncio.create_task(self._writes.catch_up())
        if input.carried is None:
            async with self._transaction():
                await self._open()
        else:
            self._transitions.publish()
        deliveries = self._deliveries
        while True:
            await workflow.wait_condition(
                lambda: deliveries.push_due() or self._finished() or self._continue_as_new_due()
            )
            if deliveries.push_due():
                deliveries.start_push()
                continue
            # Under steady traffic some handler is always running: new commands wait for the next run instead.
            self._continuing = self._continue_as_new_due()
            await workflow.wait_condition(lambda: not self._lock.locked() and workflow.all_handlers_finished())
            if self._finished():
                break
            if self._continue_as_new_due():
                await self._stop_tasks(clock_tasks, postman)
                workflow.continue_as_new(HandoffInput(start=self._start, carried=self._state))
            self._continuing = False
        await self._stop_tasks(clock_tasks, postman)
        return self._view()

    async def _open(self) -> None:
        await self._apply(machine.open_handoff)
        push_back = machine.push_back_limit(self._start)
        if push_back is not None:
            due = await asks.deadline(self._start, clock_spec(self._start, *push_back))
            await self._apply(lambda change: machine.check_push_back(change, due))

    # Commands, one update each: checked by the validator, checked again and applied under the lock.

    def _validate(self, command: Command) -> None:
        if self._continuing:
            raise continuing("the hand-off")
        info = _update()
        try:
            machine.is_repeat(command, info.id, info.name, self._state, self._start, workflow.now())
        except Rejected as rejected:
            raise rejected.rejection.error() from None

    @workflow.update(name=names.HANDOFF_CLAIM)
    async def claim(self, command: Claim) -> HandoffView:
        return await self._command(command, _ready(lambda change: machine.claim(change, command)))

    @workflow.update(name=names.HANDOFF_RETURN)
    async def return_push(self, command: ReturnPush) -> HandoffView:
        return await self._command(command, _ready(lambda change: machine.return_push(change, command)))

    @workflow.update(name=names.HANDOFF_REROUTE)
    async def reroute(self, command: Reroute) -> HandoffView:
        async def rules() -> Rules:
            department = await asks.reroute_target(self._start, self._state, command)
            self._deliveries.cancel_push()
            return lambda change: machine.reroute(change, command, department)

        return await self._command(command, rules)

    @workflow.update(name=names.HANDOFF_START_ACTING)
    async def start_acting(self, command: StartActing) -> HandoffView:
        return await self._command(command, _ready(lambda change: machine.start_acting(change, command)))

    @workflow.update(name=names.HANDOFF_SEND_FEEDBACK)
    async def send_feedback(self, command: SendFeedback) -> HandoffView:
        async def rules() -> Rules:
            reports = await asks.admit_findings(self._start, command, _update().id) if command.findings else []
            return lambda change: machine.send_feedback(change, command, reports)

        return await self._command(command, rules)

    @workflow.update(name=names.HANDOFF_ACKNOWLEDGE)
    async def acknowledge(self, command: Acknowledge) -> HandoffView:
        return await self._command(command, _ready(lambda change: machine.acknowledge(change, command)))

    @workflow.update(name=names.HANDOFF_TERMINATE)
    async def terminate(self, command: Terminate) -> HandoffView:
        async def rules() -> Rules:
            self._deliveries.cancel_push()
            return lambda change: machine.terminate(change, command)

        return await self._command(command, rules)

    @workflow.update(name=names.HANDOFF_VERIFY_FACT)
    async def verify_fact(self, command: VerifyFact) -> HandoffView:
        """Checked, then the call (outside the lock: other commands go on while the answering system is asked), then
        the outcome attached under the lock, checked again there. A repeat answers the first result; a department
        without the registry's grant is refused and nothing is attached."""
        info, state = _update(), self._state
        if info.id in state.handled_commands:
            return await self._command(command, _ready(lambda change: None))  # answered as a repeat
        try:
            machine.check(command, state, self._start, workflow.now())
        except Rejected as rejected:
            raise rejected.rejection.error() from None
        workflow.patched(verification.VERIFY_FACT_PATCH)
        request = verification.request(self._start, command, info.id)
        try:
            result: VerificationResult = await workflow.execute_activity_method(
                VerificationActivities.verify, request, **policies.VERIFICATION
            )
        except ActivityError as error:
            result = unavailable(request, error)

        async def rules() -> Rules:
            verification.granted(command, result)
            return lambda change: verification.attach(change, command, result)

        return await self._command(command, rules)

    # Temporal wants each update's validator to take its command's own type: each hands it to `_validate`.

    @claim.validator
    def _validate_claim(self, command: Claim) -> None:
        self._validate(command)

    @return_push.validator
    def _validate_return_push(self, command: ReturnPush) -> None:
        self._validate(command)

    @reroute.validator
    def _validate_reroute(self, command: Reroute) -> None:
        self._validate(command)

    @start_acting.validator
    def _validate_start_acting(self, command: StartActing) -> None:
        self._validate(command)

    @send_feedback.validator
    def _validate_send_feedback(self, command: SendFeedback) -> None:
        self._validate(command)

    @acknowledge.validator
    def _validate_acknowledge(self, command: Acknowledge) -> None:
        self._validate(command)

    @terminate.validator
    def _validate_terminate(self, command: Terminate) -> None:
        self._validate(command)

    @verify_fact.validator
    def _validate_verify_fact(self, command: VerifyFact) -> None:
        self._validate(command)

    @workflow.signal(name=names.HANDOFF_LOOP_TWO_STARTED)
    async def loop_two_started(self, started: LoopTwoStarted) -> None:
        async with self._transaction():
            await self._apply(lambda change: machine.note_loop_two(change, started.handoff_id))

    @workflow.query(name=names.HANDOFF_VIEW)
    def view(self) -> HandoffView:
        return self._view()

    async def _command(self, command: Command, rules: Callable[[], Awaitable[Rules]]) -> HandoffView:
        """Checks the command again against the state as it is now (an earlier command may have changed it since
        validation), applies it, writes its transition, and remembers its id with its answer."""
        info, state = _update(), self._state
        async with self._lock:
            owed_before = bool(state.unrecorded)
            try:
                if machine.is_repeat(command, info.id, info.name, state, self._start, workflow.now()):
                    return machine.answer(state, info.id) or self._view()
                await self._apply(await rules())
            except Rejected as rejected:
                raise rejected.rejection.error() from None
            if self._writes.one_per_transition:
                state.uncounted_commands.append(info.name)
                await self._writes.transaction_ended(owed_before)
            view = self._view()
            machine.remember(state, info.id, machine.applied_as(info.name, command), view, self._policy)
            return view

    # Transitions (`transitions`): one at a time under the lock, its writes in one store call as it ends.

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Holds the lock for one transition; its writes go to the store in one call as it ends."""
        async with self._lock:
            owed_before = bool(self._state.unrecorded)
            yield
            await self._writes.transaction_ended(owed_before)

    def _on_rung_of(self, clock: HandoffClock) -> Callable[[FiredRung], Awaitable[None]]:
        async def on_rung(fired: FiredRung) -> None:
            async with self._transaction():
                try:
                    effects = await self._apply(lambda change: ladder.fire(change, clock, fired))
                    department = effects.order_to
                    if department is not None:
                        spec = clock_spec(self._start, workflow.now(), self._policy.order_answer_limit)
                        due = await asks.deadline(self._start, spec)
                        await self._apply(lambda change: ladder.issue_order(change, department, fired, due))
                except asks.LookupFailure as error:
                    # Only a refusal gets here (an outage is waited out): the clock's later rungs still fire.
                    why = cause(error) if isinstance(error, ActivityError) else str(error)
                    workflow.logger.error("rung %s of the %s clock not carried out: %s", fired.kind, clock, why)

        return on_rung

    # Ending: completed once closed and written, or continued as new when the server suggests it.

    def _finished(self) -> bool:
        state = self._state
        return not state.stage.is_open and not state.outbox and not state.unrecorded and self._deliveries.texted()

    def _continue_as_new_due(self) -> bool:
        info, limit = workflow.info(), self._policy.max_history_events
        due = info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() >= limit)
        return due and self._deliveries.texted()

    async def _stop_tasks(self, clock_tasks: list[asyncio.Task[None]], postman: asyncio.Task[None]) -> None:
        deliveries = self._deliveries
        deliveries.stopping = True
        for clock in self._clocks.values():
            clock.close()
        deliveries.cancel_push()
        postman.cancel()
        self._catching_up.cancel()
        pushing = [deliveries.pushing] if deliveries.pushing else []
        await asyncio.gather(*clock_tasks, postman, self._catching_up, *pushing, return_exceptions=True)

    def _view(self) -> HandoffView:
        return presentation.view(self._start, self._state)


def _ready(rules: Rules) -> Callable[[], Awaitable[Rules]]:
    """Rules that need nothing from outside before they apply."""

    async def ready() -> Rules:
        return rules

    return ready


def _update() -> workflow.UpdateInfo:
    """The update under way: clients send a command again under the same id (the SDK's command id)."""
    info = workflow.current_update_info()
    assert info is not None  # only update handlers and validators ask
    return info
