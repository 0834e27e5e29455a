"""The "one thing" workflow: the shell of workflows/joint/rules.

It plans the application (the matter from the registry, the whole deadline from the legal clock), starts each step
as its predecessors finish (its own limit computed by the clock activity), runs automatic steps as verification
calls, takes department commands as updates checked in the validator and again under the lock, and cards running
steps that pass their due time. One store write of the application's view per transition.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.clock.activities import ClockActivities
    from activities.gateway.delivery import GatewayActivities
    from activities.joint.records import ApplicantActivities, JointActivities
    from activities.ledger import LedgerActivities
    from activities.verify.calls import VerificationActivities
    from schemas.clock import CardProfileName, ClockSpec, RungScheduleRequest
    from schemas.delivery import Push
    from schemas.joint.definition import StepMode
    from schemas.joint.run import (
        APPLICANT_MOBILE,
        ApplicantNotice,
        CompleteStep,
        JointPlan,
        JointSnapshot,
        JointStart,
        JointStatus,
        JointView,
        StepView,
        VerificationStepResult,
    )
    from schemas.ledger import SubjectKind, SupervisionOrderTransition
    from schemas.names import ANSWER_LADDER_ORDER, JOINT_COMPLETE_STEP, JOINT_VIEW, JOINT_WORKFLOW
    from schemas.orders import AnswerLadderOrder
    from schemas.rejections import Rejected
    from schemas.verification import (
        Purpose,
        PurposeKind,
        VerificationOutcome,
        VerificationRequest,
    )
    from workflows import ladder_orders, policies
    from workflows.joint import rules


# Runs that began before late steps climbed the ladder replay as they ran: the clock computed only each step's
# deadline, and a carded step stayed at its card.
LADDER_PATCH = "joint-steps-climb-the-ladder"
# And before the applicant heard of each step done and of the end.
APPLICANT_PATCH = "joint-tells-its-applicant"
# And before its first SMS, on opening, gave the applicant the status lookup's verification code.
OPENING_PATCH = "joint-gives-its-applicant-the-code"
# And before a late step's supervision-order rung issued its department a real order, answered by a deadline.
ORDER_PATCH = "joint-orders-its-late-departments"


def joint_workflow_id(joint_id: str) -> str:
    return f"joint-{joint_id}"


@workflow.defn(name=JOINT_WORKFLOW)
class JointWorkflow:
    @workflow.init
    def __init__(self, start: JointStart) -> None:
        self._start = start
        self._plan: JointPlan | None = None
        self._view: JointView | None = None
        self._seen: set[str] = set()
        self._lock = asyncio.Lock()
        self._changed = False
        self._calls: list[asyncio.Task[None]] = []
        self._ladder = False
        self._tells = False
        self._orders = False

    @workflow.run
    async def run(self, start: JointStart) -> JointView:
        self._ladder = workflow.patched(LADDER_PATCH)
        self._orders = self._ladder and workflow.patched(ORDER_PATCH)
        self._tells = APPLICANT_MOBILE in start.application and workflow.patched(APPLICANT_PATCH)
        received = workflow.now()
        plan = await workflow.execute_activity_method(
            JointActivities.plan_joint, start.model_copy(update={"received_at": received}), **policies.STORE
        )
        async with self._lock:
            self._plan, self._view = plan, rules.opened(start, plan, received)
            await self._write()
            if self._tells and workflow.patched(OPENING_PATCH):
                opening = rules.opening_notice(self._current, start.application.get(APPLICANT_MOBILE))
                if opening is not None:
                    self._calls.append(asyncio.create_task(self._text(opening)))
        while self._current.status is JointStatus.RUNNING:
            async with self._lock:
                await self._start_ready_steps()
            if self._current.status is not JointStatus.RUNNING:
                break
            due = self._next_due()
            self._changed = False
            left = None if due is None else due - workflow.now()
            if left is None or left > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._changed, timeout=left)
                    continue
                except TimeoutError:
                    pass
            async with self._lock:
                view, cards = rules.overdue(self._current, workflow.now())
                if cards:
                    self._view = view
                    await self._write()
                    for card in cards:
                        await workflow.execute_activity_method(LedgerActivities.record_card, card, **policies.STORE)
                if self._ladder:
                    await self._climb()
                if self._orders:
                    await self._orders_overdue()
        if self._orders:
            async with self._lock:
                await self._lift_awaited_orders()
        await asyncio.gather(*self._calls)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._current

    @property
    def _current(self) -> JointView:
        assert self._view is not None
        return self._view

    @workflow.query(name=JOINT_VIEW)
    def view(self) -> JointView | None:
        return self._view

    @workflow.update(name=JOINT_COMPLETE_STEP)
    async def complete_step(self, command: CompleteStep) -> JointView:
        await workflow.wait_condition(lambda: self._plan is not None)
        async with self._lock:
            if command.command_id in self._seen:
                return self._current
            assert self._plan is not None
            before = self._current
            try:
                self._view = rules.complete(self._current, self._plan.matter, command, workflow.now())
            except Rejected as rejected:
                raise rejected.rejection.error() from None
            self._tell(before)
            self._seen.add(command.command_id)
            await self._write()
            # The next steps start before the answer, so their departments can act on them at once.
            await self._start_ready_steps()
            self._changed = True
            return self._current

    @complete_step.validator
    def _check_complete(self, command: CompleteStep) -> None:
        if self._plan is None or self._view is None or command.command_id in self._seen:
            return
        try:
            rules.check_complete(self._view, self._plan.matter, command)
        except Rejected as rejected:
            raise rejected.rejection.error() from None

    @workflow.update(name=ANSWER_LADDER_ORDER)
    async def answer_order(self, command: AnswerLadderOrder) -> JointView:
        """The ordered department answers a late step's supervision order (ORDER_PATCH)."""
        await workflow.wait_condition(lambda: self._plan is not None)
        async with self._lock:
            if command.command_id in self._seen:
                return self._current
            try:
                orders, transition = ladder_orders.answer(self._subject, self._current.orders, command, workflow.now())
            except Rejected as rejected:
                raise rejected.rejection.error() from None
            self._seen.add(command.command_id)
            self._view = self._current.model_copy(update={"orders": orders, "version": self._current.version + 1})
            await self._write()
            await self._record_order(transition)
            self._changed = True
            return self._current

    @answer_order.validator
    def _check_answer(self, command: AnswerLadderOrder) -> None:
        ladder_orders.validate_answer(self._view.orders if self._view is not None else None, self._seen, command)

    @property
    def _subject(self) -> str:
        return joint_workflow_id(self._start.joint_id)

    def _next_due(self) -> datetime | None:
        dues = [rules.next_due(self._current, ladder=self._ladder)]
        if self._orders:
            dues.append(ladder_orders.next_due(self._current.orders))
        found = [due for due in dues if due is not None]
        return min(found) if found else None

    async def _start_ready_steps(self) -> None:
        assert self._plan is not None
        if self._current.status is not JointStatus.RUNNING:
            return
        for code in rules.ready(self._current, self._plan.matter):
            definition = self._plan.matter.step(code)
            assert definition is not None
            now = workflow.now()
            spec = ClockSpec(started_at=now, limit=float(definition.limit.amount), unit=definition.limit.unit)
            if self._ladder:
                schedule = await workflow.execute_activity_method(
                    ClockActivities.schedule_rungs,
                    RungScheduleRequest(clock=spec, profile=CardProfileName.DEFAULT),
                    **policies.COMPUTE,
                )
                ladder = rules.ladder_of(schedule.rungs)
                self._view = rules.start_step(self._current, code, schedule.deadline.due_at, now, ladder)
            else:
                deadline = await workflow.execute_activity_method(
                    ClockActivities.compute_deadline, spec, **policies.COMPUTE
                )
                self._view = rules.start_step(self._current, code, deadline.due_at, now)
            await self._write()
            if definition.mode is StepMode.VERIFICATION:
                self._calls.append(asyncio.create_task(self._verify(code)))
            elif definition.mode is StepMode.WEBHOOK:
                self._calls.append(asyncio.create_task(self._push(rules.step_push(self._current, code, now))))

    async def _verify(self, code: str) -> None:
        assert self._plan is not None
        definition = self._plan.matter.step(code)
        assert definition is not None and definition.item is not None
        question = {key: self._start.application[key] for key in definition.question if key in self._start.application}
        try:
            request = VerificationRequest(
                call_id=f"{self._start.joint_id}.{code}",
                item_code=definition.item,
                asking_department=definition.department,
                purpose=Purpose(kind=PurposeKind.JOINT, id=self._start.joint_id),
                question=question,
            )
        except ValidationError:
            result = VerificationStepResult(step=code, outcome=VerificationOutcome.REFUSED)
        else:
            try:
                answer = await workflow.execute_activity_method(
                    VerificationActivities.verify, request, **policies.VERIFICATION
                )
                result = VerificationStepResult(step=code, outcome=answer.outcome, answer_digest=answer.answer_digest)
            except ActivityError:
                result = VerificationStepResult(step=code, outcome=VerificationOutcome.UNAVAILABLE)
        async with self._lock:
            before = self._current
            self._view = rules.verified(self._current, result, workflow.now())
            self._tell(before)
            await self._write()
            await self._start_ready_steps()
            self._changed = True

    def _tell(self, before: JointView) -> None:
        """The applicant's SMS of a transition, in the background (APPLICANT_PATCH)."""
        if not self._tells:
            return
        for notice in rules.applicant_notices(before, self._current, self._start.application.get(APPLICANT_MOBILE)):
            self._calls.append(asyncio.create_task(self._text(notice)))

    async def _text(self, notice: ApplicantNotice) -> None:
        try:
            await workflow.execute_activity_method(
                ApplicantActivities.text_applicant, notice, **policies.JOINT_APPLICANT_SMS
            )
        except ActivityError:
            workflow.logger.warning("applicant not told", extra={"sms_id": notice.notification_id})

    async def _push(self, push: Push) -> None:
        """A webhook step to its department's system; an outage past the policy leaves it in the department's
        inbox (the gateway's fallback) and the step's clock running."""
        try:
            await workflow.execute_activity_method(GatewayActivities.deliver_push, push, **policies.JOINT_STEP_PUSH)
        except ActivityError:
            workflow.logger.warning("joint step push not delivered", extra={"push_id": push.push_id})

    async def _climb(self) -> None:
        """Under the lock: carded steps climb the rungs that came due (LADDER_PATCH)."""
        before = self._current
        view, events = rules.climb(before, workflow.now())
        if view is before:
            return
        self._view = view
        await self._write()
        for event in events:
            await workflow.execute_activity_method(LedgerActivities.record_score_event, event, **policies.STORE)
        if self._orders:
            for step in rules.ordered(before, view):
                await self._issue_order(step)

    async def _issue_order(self, step: StepView) -> None:
        """Under the lock: the step's department is ordered to answer by the matter's order limit (ORDER_PATCH)."""
        assert self._plan is not None
        now, limit = workflow.now(), self._plan.matter.order_limit
        deadline = await workflow.execute_activity_method(
            ClockActivities.compute_deadline,
            ClockSpec(started_at=now, limit=float(limit.amount), unit=limit.unit),
            **policies.COMPUTE,
        )
        basis, content = rules.order_of(self._current, step)
        orders, transition = ladder_orders.issue(
            self._subject,
            self._current.orders,
            step.department,
            step.code,
            basis=basis,
            content=content,
            deadline=deadline.due_at,
            now=workflow.now(),
        )
        self._view = self._current.model_copy(update={"orders": orders, "version": self._current.version + 1})
        await self._write()
        await self._record_order(transition)

    async def _orders_overdue(self) -> None:
        """Under the lock: orders unanswered at their deadline are carded, and their steps climb the next rung."""
        now = workflow.now()
        orders, late, cards = ladder_orders.overdue(self._subject, SubjectKind.JOINT, self._current.orders, now)
        if not late:
            return
        cards_kept = [*self._current.cards, *ladder_orders.kept(cards)]
        self._view = self._current.model_copy(
            update={"orders": orders, "cards": cards_kept, "version": self._current.version + 1}
        )
        self._view = rules.bring_forward(self._current, [order.step for order in late], now)
        await self._write()
        for card in cards:
            await workflow.execute_activity_method(LedgerActivities.record_card, card, **policies.STORE)
        await self._climb()

    async def _lift_awaited_orders(self) -> None:
        """The application has finished: its orders still awaiting an answer are lifted, as a closing case's are."""
        why = f"the application is {self._current.status.value}"
        orders, transitions = ladder_orders.lift_awaited(self._subject, self._current.orders, why, workflow.now())
        if not transitions:
            return
        self._view = self._current.model_copy(update={"orders": orders, "version": self._current.version + 1})
        await self._write()
        for transition in transitions:
            await self._record_order(transition)

    async def _record_order(self, transition: SupervisionOrderTransition) -> None:
        await workflow.execute_activity_method(LedgerActivities.record_supervision_order, transition, **policies.STORE)

    async def _write(self) -> None:
        await workflow.execute_activity_method(
            JointActivities.record_joint,
            JointSnapshot(view=self._current, written_at=workflow.now()),
            **policies.STORE,
        )
