"""The "one thing" workflow: the shell of workflows/joint/rules.

It plans the application (the matter from the registry, the whole deadline from the legal clock), starts each step
as its predecessors finish (its own limit computed by the clock activity), runs automatic steps as verification
calls, takes department commands as updates checked in the validator and again under the lock, and cards running
steps that pass their due time. One store write of the application's view per transition.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

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
        VerificationStepResult,
    )
    from schemas.names import JOINT_COMPLETE_STEP, JOINT_VIEW, JOINT_WORKFLOW
    from schemas.rejections import Rejected
    from schemas.verification import (
        Purpose,
        PurposeKind,
        VerificationOutcome,
        VerificationRequest,
    )
    from workflows import policies
    from workflows.joint import rules


# Runs that began before late steps climbed the ladder replay as they ran: the clock computed only each step's
# deadline, and a carded step stayed at its card.
LADDER_PATCH = "joint-steps-climb-the-ladder"
# And before the applicant heard of each step done and of the end.
APPLICANT_PATCH = "joint-tells-its-applicant"
# And before its first SMS, on opening, gave the applicant the status lookup's verification code.
OPENING_PATCH = "joint-gives-its-applicant-the-code"


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

    @workflow.run
    async def run(self, start: JointStart) -> JointView:
        self._ladder = workflow.patched(LADDER_PATCH)
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
            due = rules.next_due(self._current, ladder=self._ladder)
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
        view, events = rules.climb(self._current, workflow.now())
        if view is self._current:
            return
        self._view = view
        await self._write()
        for event in events:
            await workflow.execute_activity_method(LedgerActivities.record_score_event, event, **policies.STORE)

    async def _write(self) -> None:
        await workflow.execute_activity_method(
            JointActivities.record_joint,
            JointSnapshot(view=self._current, written_at=workflow.now()),
            **policies.STORE,
        )
