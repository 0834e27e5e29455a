"""The rules of one "one thing" application: pure functions over its view. No awaits, no I/O.

A step runs once every step it comes after is done; a department's command completes a command step, a
verification's answer an automatic one. A running step past its due time earns its department a red card, once;
the application is done when every step is, and late if that is after its one deadline.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.cards import IssuedCard
    from schemas.clock import Rung, RungKind
    from schemas.delivery import Push, PushKind
    from schemas.joint.definition import JointMatter, StepMode
    from schemas.joint.run import (
        RULE_AUTOMATIC,
        RULE_DEPARTMENT,
        RULE_NOT_READY,
        RULE_STEP,
        ApplicantNotice,
        CompleteStep,
        JointPlan,
        JointStart,
        JointStatus,
        JointView,
        StepStatus,
        StepView,
        VerificationStepResult,
    )
    from schemas.ledger import CardIssue, CardLevel, CardReason, ScoreEventInput, ScoreKind, SubjectKind
    from schemas.orders import LadderRung
    from schemas.rejections import Rejected
    from schemas.verification import VerificationOutcome


def opened(start: JointStart, plan: JointPlan, now: datetime) -> JointView:
    return JointView(
        joint_id=start.joint_id,
        matter_code=plan.matter.code,
        started_at=now,
        due_at=plan.due_at,
        steps=[StepView(code=step.code, department=step.department) for step in plan.matter.steps],
    )


def ready(view: JointView, matter: JointMatter) -> list[str]:
    """Waiting steps whose every predecessor is done, in the matter's order."""
    done = {step.code for step in view.steps if step.status is StepStatus.DONE}
    waiting = {step.code for step in view.steps if step.status is StepStatus.WAITING}
    return [step.code for step in matter.steps if step.code in waiting and set(step.after) <= done]


def _with_step(view: JointView, changed: StepView) -> JointView:
    steps = [changed if step.code == changed.code else step for step in view.steps]
    return view.model_copy(update={"steps": steps, "version": view.version + 1})


# The rungs a late step climbs after its card, as the case's ladder names them (escalation levels map onto them).
LADDER: dict[RungKind, RungKind] = {
    RungKind.REMINDER_NOTICE: RungKind.REMINDER_NOTICE,
    RungKind.SUPERVISION_ORDER: RungKind.SUPERVISION_ORDER,
    RungKind.CIRCULAR: RungKind.CIRCULAR,
    RungKind.ADMONITORY_TALK: RungKind.ADMONITORY_TALK,
    RungKind.ESCALATION_1: RungKind.REMINDER_NOTICE,
    RungKind.ESCALATION_2: RungKind.SUPERVISION_ORDER,
    RungKind.ESCALATION_3: RungKind.CIRCULAR,
}
# The rungs that count against the department in its assessment, as a case's do.
SCORED: dict[RungKind, ScoreKind] = {
    RungKind.CIRCULAR: ScoreKind.CIRCULAR,
    RungKind.ADMONITORY_TALK: ScoreKind.ADMONITORY_TALK,
}


def ladder_of(rungs: list[Rung]) -> list[LadderRung]:
    """The ladder's rungs of a step's schedule (the card profile's colour rungs are the card's business)."""
    return [LadderRung(kind=LADDER[rung.kind], at=rung.at) for rung in rungs if rung.kind in LADDER]


def start_step(
    view: JointView, code: str, due_at: datetime, now: datetime, ladder: list[LadderRung] | None = None
) -> JointView:
    step = view.step(code)
    assert step is not None
    update: dict[str, object] = {"status": StepStatus.RUNNING, "started_at": now, "due_at": due_at}
    if ladder:
        update["ladder"] = ladder
    return _with_step(view, step.model_copy(update=update))


def opening_notice(view: JointView, mobile: str | None) -> ApplicantNotice | None:
    """The applicant's first SMS: the application is open, by when it is due, and the code for the status lookup."""
    if not mobile:
        return None
    return ApplicantNotice(
        notification_id=f"joint-{view.joint_id}-opened",
        matter_code=view.matter_code,
        template_id="applicant_opened",
        variables={"joint_id": view.joint_id, "due_at": view.due_at.isoformat()},
        mobile=mobile,
        with_status_code=True,
    )


def applicant_notices(before: JointView, after: JointView, mobile: str | None) -> list[ApplicantNotice]:
    """What the applicant hears of a transition: each step newly done, and the end (done or failed)."""
    if not mobile:
        return []
    was = {step.code: step.status for step in before.steps}
    notices = [
        ApplicantNotice(
            notification_id=f"joint-{after.joint_id}-{step.code}-done",
            matter_code=after.matter_code,
            template_id="applicant_step_done",
            variables={"joint_id": after.joint_id, "step": step.code, "at": str(step.done_at)},
            mobile=mobile,
        )
        for step in after.steps
        if step.status is StepStatus.DONE and was.get(step.code) is not StepStatus.DONE
    ]
    if after.status is not JointStatus.RUNNING and before.status is JointStatus.RUNNING:
        notices.append(
            ApplicantNotice(
                notification_id=f"joint-{after.joint_id}-{after.status.value}",
                matter_code=after.matter_code,
                template_id="applicant_done",
                variables={"joint_id": after.joint_id, "status": after.status.value, "late": str(after.late).lower()},
                mobile=mobile,
            )
        )
    return notices


def step_push(view: JointView, code: str, now: datetime) -> Push:
    """A webhook step, as its department's system is sent it: which application and step, by when, and where to say
    it is done. Never the application's fields, which are personal data."""
    step = view.step(code)
    assert step is not None
    return Push(
        push_id=f"joint-{view.joint_id}-{code}",
        department_code=step.department,
        kind=PushKind.JOINT_STEP,
        subject_id=f"joint-{view.joint_id}",
        issued_at=now,
        body={
            "joint_id": view.joint_id,
            "matter": view.matter_code,
            "step": code,
            "due_at": step.due_at.isoformat() if step.due_at else None,
            "complete": f"/v1/joint/{view.joint_id}/steps/{code}",
        },
    )


def check_complete(view: JointView, matter: JointMatter, command: CompleteStep) -> StepView:
    definition = matter.step(command.step)
    step = view.step(command.step)
    if definition is None or step is None:
        raise Rejected(RULE_STEP, "step", f"{command.step} is not a step of {matter.code}")
    if definition.mode is StepMode.VERIFICATION:
        raise Rejected(RULE_AUTOMATIC, "step", f"{command.step} is done by a verification call, not a command")
    if command.department != definition.department:
        raise Rejected(RULE_DEPARTMENT, "department", f"{command.step} is {definition.department}'s step")
    if step.status is not StepStatus.RUNNING:
        raise Rejected(RULE_NOT_READY, "step", f"{command.step} is {step.status.value}; it cannot be completed now")
    return step


def complete(view: JointView, matter: JointMatter, command: CompleteStep, now: datetime) -> JointView:
    step = check_complete(view, matter, command)
    late = step.due_at is not None and now > step.due_at
    changed = step.model_copy(
        update={"status": StepStatus.DONE, "done_at": now, "late": late, "done_by": command.department}
    )
    return _finish(_with_step(view, changed), now)


def verified(view: JointView, result: VerificationStepResult, now: datetime) -> JointView:
    step = view.step(result.step)
    assert step is not None
    answered = result.outcome is VerificationOutcome.ANSWERED
    changed = step.model_copy(
        update={
            "status": StepStatus.DONE if answered else StepStatus.FAILED,
            "done_at": now,
            "late": step.due_at is not None and now > step.due_at,
            "done_by": f"verification: {result.outcome.value}",
            "answer_digest": result.answer_digest,
        }
    )
    return _finish(_with_step(view, changed), now)


def _finish(view: JointView, now: datetime) -> JointView:
    if any(step.status is StepStatus.FAILED for step in view.steps):
        return view.model_copy(update={"status": JointStatus.FAILED, "done_at": now})
    if all(step.status is StepStatus.DONE for step in view.steps):
        return view.model_copy(update={"status": JointStatus.DONE, "done_at": now, "late": now > view.due_at})
    return view


def overdue(view: JointView, now: datetime) -> tuple[JointView, list[CardIssue]]:
    """Running steps past their due time that hold no card yet: a red card each."""
    carded = {card.step for card in view.cards}
    cards: list[CardIssue] = []
    for step in view.steps:
        if step.status is StepStatus.RUNNING and step.due_at is not None and now >= step.due_at:
            if step.code in carded:
                continue
            cards.append(
                CardIssue(
                    card_id=f"joint-{view.joint_id}-{step.code}-red",
                    subject_id=f"joint-{view.joint_id}",
                    subject_kind=SubjectKind.JOINT,
                    department_code=step.department,
                    level=CardLevel.RED,
                    reason=CardReason.STEP_OVERDUE,
                    step=step.code,
                    due_at=step.due_at,
                    issued_at=now,
                )
            )
    if not cards:
        return view, []
    issued = [
        IssuedCard(
            card_id=card.card_id,
            department=card.department_code,
            level=card.level,
            reason=card.reason,
            step=card.step,
            issued_at=now,
        )
        for card in cards
    ]
    return view.model_copy(update={"cards": [*view.cards, *issued], "version": view.version + 1}), cards


def climb(view: JointView, now: datetime) -> tuple[JointView, list[ScoreEventInput]]:
    """Carded running steps climb the ladder's rungs that came due; the circular and the admonitory talk are score
    events against the step's department. A step done stops climbing."""
    carded = {card.step for card in view.cards}
    events: list[ScoreEventInput] = []
    steps: list[StepView] = []
    for step in view.steps:
        if step.status is not StepStatus.RUNNING or step.code not in carded:
            steps.append(step)
            continue
        rungs: list[LadderRung] = []
        for rung in step.ladder:
            if rung.fired_at is None and rung.at <= now:
                rung = rung.model_copy(update={"fired_at": now})
                scored = SCORED.get(rung.kind)
                if scored is not None:
                    events.append(
                        ScoreEventInput(
                            event_id=f"joint-{view.joint_id}-{step.code}-{rung.kind.value}",
                            department_code=step.department,
                            kind=scored,
                            subject_id=f"joint-{view.joint_id}",
                            occurred_at=now,
                            note=f"joint step {step.code} of {view.matter_code} overdue since {step.due_at}",
                        )
                    )
            rungs.append(rung)
        steps.append(step.model_copy(update={"ladder": rungs}) if rungs != step.ladder else step)
    if steps == view.steps:
        return view, []
    return view.model_copy(update={"steps": steps, "version": view.version + 1}), events


def ordered(before: JointView, after: JointView) -> list[StepView]:
    """The steps whose supervision-order rung fired between the two views: each owes its department an order."""
    fired = {
        step.code
        for step in before.steps
        for rung in step.ladder
        if rung.kind is RungKind.SUPERVISION_ORDER and rung.fired_at is not None
    }
    return [
        step
        for step in after.steps
        if step.code not in fired
        and any(rung.kind is RungKind.SUPERVISION_ORDER and rung.fired_at is not None for rung in step.ladder)
    ]


def order_of(view: JointView, step: StepView) -> tuple[str, str]:
    """The basis and content of the order a late step's ladder issues its department."""
    return (
        f"escalation ladder: joint step {step.code} of {view.matter_code} overdue since {step.due_at}",
        f"Complete the overdue step {step.code} of joint application {view.joint_id} and answer this order.",
    )


def bring_forward(view: JointView, codes: list[str], now: datetime) -> JointView:
    """An unanswered order's steps, still running, reach their next rung now (climb fires it)."""
    steps: list[StepView] = []
    for step in view.steps:
        waiting = [rung for rung in step.ladder if rung.fired_at is None]
        if step.code not in codes or step.status is not StepStatus.RUNNING or not waiting:
            steps.append(step)
            continue
        first = waiting[0]
        ladder = [rung.model_copy(update={"at": min(rung.at, now)}) if rung is first else rung for rung in step.ladder]
        steps.append(step.model_copy(update={"ladder": ladder}))
    return view.model_copy(update={"steps": steps})


def next_due(view: JointView, *, ladder: bool = False) -> datetime | None:
    """The earliest due time of a running step that holds no card yet; with `ladder`, or of a ladder rung of a
    carded one."""
    carded = {card.step for card in view.cards}
    dues = [
        step.due_at
        for step in view.steps
        if step.status is StepStatus.RUNNING and step.due_at is not None and step.code not in carded
    ]
    if ladder:
        dues += [
            rung.at
            for step in view.steps
            if step.status is StepStatus.RUNNING and step.code in carded
            for rung in step.ladder
            if rung.fired_at is None
        ]
    return min(dues) if dues else None
