"""The hand-off's rules without Temporal: which command is allowed in which stage and from whom (`check`), and
what each command, each push outcome, the opening and the closing do to the state, as effects on a `Change`
(clocks, audit entries, cards, orders, notices, store writes). The workflow's update validators call `check` and
its handlers the apply functions; tests call both directly. What fired rungs do lives in `ladder`.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import SYSTEM_ACTOR, Role
    from schemas.delivery import Push, PushKind, SmsNotification
    from schemas.handoff import (
        DATE_WINDOW,
        FINDING_EVENTS,
        Acknowledge,
        Actor,
        Claim,
        Command,
        EventReport,
        Feedback,
        HandoffClock,
        HandoffPolicy,
        HandoffStage,
        HandoffStart,
        HandoffState,
        HandoffView,
        Reroute,
        ReturnPush,
        Route,
        SendFeedback,
        SourceEvent,
        StartActing,
        Terminate,
        VerifyFact,
    )
    from schemas.ledger import CardLevel, CardReason, SupervisionOrderStatus
    from schemas.registry import ClaimMode, DepartmentInfo, HandoffRoute, Limit, MatterStep
    from schemas.rejections import Rejected
    from workflows.handoff import presentation, records
    from workflows.handoff.effects import Change

S = HandoffStage
SMS_TEMPLATE = "handoff_push"


# The stages each command may be sent in.
ALLOWED_STAGES: dict[type[Command], frozenset[HandoffStage]] = {
    Claim: frozenset({S.PUSHED}),
    ReturnPush: frozenset({S.PUSHED, S.CLAIMED}),
    Reroute: frozenset({S.CREATED, S.RETURNED, S.DELIVERY_FAILED}),
    StartActing: frozenset({S.CLAIMED}),
    SendFeedback: frozenset({S.CLAIMED, S.ACTING}),
    Acknowledge: frozenset({S.FEEDBACK_SENT}),
    Terminate: frozenset(stage for stage in HandoffStage if stage.is_open),
    VerifyFact: frozenset(stage for stage in HandoffStage if stage.is_open),
}

_VERBS: dict[type[Command], str] = {
    Claim: "claim",
    ReturnPush: "return",
    Reroute: "reroute",
    StartActing: "start acting on",
    SendFeedback: "send feedback on",
    Acknowledge: "acknowledge",
    Terminate: "terminate",
    VerifyFact: "verify a fact for",
}


def check(command: Command, state: HandoffState, start: HandoffStart, now: datetime) -> None:
    """Raises Rejected naming the rule when `command` may not be applied now."""
    verb = _VERBS[type(command)]
    if state.stage is S.TERMINATED:
        raise Rejected(
            "stage.terminated", "stage", f"cannot {verb} the hand-off: it was terminated ({state.termination_reason})"
        )
    if state.stage is S.LOOP_CLOSED:
        raise Rejected("stage.closed", "stage", f"cannot {verb} the hand-off: its loop is closed")
    _check_actor(command, state, start, verb)
    if state.stage not in ALLOWED_STAGES[type(command)]:
        if isinstance(command, Claim) and state.claimed_on_push:
            raise Rejected(
                "claim.on-push", "stage", "cannot claim the hand-off: its matter claims on push, and it was pushed"
            )
        allowed = ", ".join(sorted(stage.value for stage in ALLOWED_STAGES[type(command)]))
        raise Rejected("stage", "stage", f"cannot {verb} the hand-off in stage {state.stage.value}; only in: {allowed}")
    if isinstance(command, ReturnPush) and state.return_until is not None and now > state.return_until:
        raise Rejected(
            "return.window",
            None,
            f"the return window closed at {state.return_until.isoformat()}: the push can no longer be returned",
        )
    if isinstance(command, SendFeedback):
        _check_findings(command, now)
    if isinstance(command, Reroute) and command.department_code is not None:
        if command.department_code in state.returned_by:
            raise Rejected(
                "reroute.returned-by",
                "department_code",
                f"department {command.department_code} already returned this push as not its duty; "
                "settle the dispute by consultation before routing it there again",
            )
        if command.department_code == start.event.source_department:
            raise Rejected(
                "reroute.originator",
                "department_code",
                "a hand-off cannot be routed to the department that started it",
            )


def _check_findings(command: SendFeedback, now: datetime) -> None:
    """Each finding becomes an event dated by its decision: a date the intake would refuse is refused here, before
    the feedback is recorded."""
    for index, finding in enumerate(command.findings):
        refusal = DATE_WINDOW.refusal(finding.decided_at, now)
        if refusal is not None:
            raise Rejected(
                "finding.decided-at", f"findings.{index}.decided_at", f"the decision date of finding {index}: {refusal}"
            )


def _check_actor(command: Command, state: HandoffState, start: HandoffStart, verb: str) -> None:
    actor = command.actor
    if isinstance(command, Claim | ReturnPush | StartActing | SendFeedback):
        receiver = state.receiver_code
        if actor.role is not Role.RECEIVER or actor.department != receiver:
            who = (
                "the claimant" if isinstance(command, SendFeedback) and state.claimed_at else "the receiving department"
            )
            rule = "actor.claimant" if who == "the claimant" else "actor.receiver"
            raise Rejected(rule, "actor", f"only {who} {receiver} may {verb} the hand-off, not {actor}")
    elif isinstance(command, Acknowledge):
        origin = start.event.source_department
        if actor.role is not Role.ORIGINATOR or actor.department != origin:
            raise Rejected(
                "actor.originator",
                "actor",
                f"only the originating department {origin} may {verb} the feedback, not {actor}",
            )
    elif isinstance(command, Reroute):
        if actor.role is not Role.COORDINATOR:
            raise Rejected("actor.coordinator", "actor", f"only the coordinator may {verb} a hand-off, not {actor}")
        _check_coordinator(actor, start, verb)
    elif isinstance(command, VerifyFact):
        _check_party(actor, state, start, verb)
    elif isinstance(command, Terminate):
        origin = start.event.source_department
        is_origin = actor.role is Role.ORIGINATOR and actor.department == origin
        if actor.role not in (Role.COORDINATOR, Role.SYSTEM) and not is_origin:
            raise Rejected(
                "actor.coordinator-or-originator",
                "actor",
                f"only the coordinator or the originating department {origin} may {verb} the hand-off, not {actor}",
            )
        if actor.role is Role.COORDINATOR:
            _check_coordinator(actor, start, verb)


def _check_party(actor: Actor, state: HandoffState, start: HandoffStart, verb: str) -> None:
    """The receiver it is routed to now, the originating department, or the coordinator: the departments working
    on it."""
    if actor.role is Role.RECEIVER and actor.department == state.receiver_code:
        return
    if actor.role is Role.ORIGINATOR and actor.department == start.event.source_department:
        return
    if actor.role is Role.COORDINATOR:
        _check_coordinator(actor, start, verb)
        return
    raise Rejected(
        "actor.party",
        "actor",
        f"only the receiver, the originating department or the coordinator may {verb} the hand-off, not {actor}",
    )


def _check_coordinator(actor: Actor, start: HandoffStart, verb: str) -> None:
    """The coordinator is the department the registry named at admission. Hand-offs admitted before it was recorded
    know none, and take any department's word for it, as they always did (their histories replay unchanged)."""
    coordinator = start.coordinator_code
    if coordinator is not None and actor.department != coordinator:
        raise Rejected(
            "actor.coordinator",
            "actor",
            f"only the coordinator {coordinator} the registry names may {verb} the hand-off, not {actor}",
        )


def findings_as_events(start: HandoffStart, command: SendFeedback) -> list[SourceEvent]:
    """Each finding of a feedback as an event of the receiver's, linked to this hand-off: a loop-2 hand-off back.
    It is reported by whoever sent the feedback, so loop 2's created row names the same credential."""
    actor = command.actor
    reporter = Actor(
        department=actor.department,
        role=Role.ORIGINATOR,
        credential=actor.credential,
        on_behalf_reason=actor.on_behalf_reason,
    )
    return [
        SourceEvent(
            source_department=actor.department,
            reference=finding.reference,
            event=FINDING_EVENTS[finding.kind],
            item_code=finding.item_code or start.event.item_code,
            locality_code=start.event.locality_code,
            occurred_at=finding.decided_at,
            decision=finding.kind.value,
            related_handoff_id=start.handoff_id,
            package={"finding": finding.model_dump(mode="json"), "loop_one": start.handoff_id},
            reported_by=reporter,
        )
        for finding in command.findings
    ]


def stage_after_push(start: HandoffStart) -> HandoffStage:
    """推送即認領: under claim-on-push the delivered push is the claim."""
    return S.CLAIMED if start.matter.claim_mode is ClaimMode.ON_PUSH else S.PUSHED


def applied_as(update: str, command: Command) -> str:
    """What a command id applied: the update and who sent it, as a repeat of it must name them again."""
    return f"{update} by {command.actor.role.value} {command.actor.department}"


def check_repeat(state: HandoffState, command_id: str, applied: str) -> None:
    """A command id sent again must carry the command it applied; another command needs a new id."""
    earlier = state.handled_as.get(command_id)
    if earlier is not None and earlier != applied:
        raise Rejected(
            "command_id.reused",
            "command_id",
            f"command id {command_id} was used for {earlier}, not {applied}: a new command needs a new id",
        )


def is_repeat(
    command: Command, command_id: str, update: str, state: HandoffState, start: HandoffStart, now: datetime
) -> bool:
    """True for a command id the hand-off applied, sent again with the same command (answered with its first
    result); else the command is checked against the state as it is now. Raises `Rejected`."""
    if command_id in state.handled_commands:
        check_repeat(state, command_id, applied_as(update, command))
        return True
    check(command, state, start, now)
    return False


def remembered(handled: list[str], command_id: str, keep: int) -> list[str]:
    """The command (update) IDs to keep after `command_id`, oldest dropped first."""
    return [*handled, command_id][-keep:]


def remember(state: HandoffState, command_id: str, applied: str, answer: HandoffView, policy: HandoffPolicy) -> None:
    """A command applied: its id, what it applied and its answer, kept (across runs) for its repeats."""
    state.handled_commands = remembered(state.handled_commands, command_id, policy.remembered_commands)
    kept = set(state.handled_commands)
    state.handled_as = {key: value for key, value in state.handled_as.items() if key in kept} | {command_id: applied}
    answered = set(state.handled_commands[-policy.remembered_answers :])
    state.answers = {key: value for key, value in state.answers.items() if key in answered} | {
        command_id: answer.model_dump(mode="json")
    }


def answer(state: HandoffState, command_id: str) -> HandoffView | None:
    """The first answer to a remembered command; None for ids remembered before answers were kept."""
    kept = state.answers.get(command_id)
    return HandoffView.model_validate(kept) if kept is not None else None


def named_receiver(code: str, department: DepartmentInfo | None) -> str:
    """A reroute to a named department: it must exist (`department`, None when the registry knows none) and be
    active."""
    if department is None:
        raise Rejected(
            "reroute.unknown-department", "department_code", f"department {code} does not exist in the registry"
        )
    if not department.active:
        raise Rejected(
            "reroute.inactive-department",
            "department_code",
            f"department {department.code} is inactive in the registry",
        )
    return department.code


def next_receiver(start: HandoffStart, route: HandoffRoute) -> str:
    """A reroute to whom the registry names next (those that returned it and the originator excluded)."""
    if not route.receivers:
        item = start.matter.target_item or "its item"
        raise Rejected(
            "reroute.no-department",
            "department_code",
            f"the department-function registry names no other department for {item}; name one",
        )
    return route.receivers[0].code


# Opening and closing.


def open_handoff(change: Change) -> None:
    """Created: routed to the receiver the registry named (pushed next), or waiting for the coordinator to route it."""
    start, state, now = change.start, change.state, change.now
    if state.receiver_code is not None:
        state.version = 1
        state.routes.append(Route(version=1, department_code=state.receiver_code, routed_at=now))
        state.push_pending = True
        change.arm_matter(HandoffClock.PUSH, MatterStep.PUSH, now)
        reason = f"{start.event.event.value} {start.event.reference} matched matter {start.matter.code}"
    else:
        change.arm(HandoffClock.REROUTE, now, change.limit(MatterStep.REROUTE))
        reason = "no department holds the matter's item: the coordinator must route it"
    # The door names the credential that reported the event; events from inside the cluster name none.
    reporter = start.event.reported_by or Actor(department=start.event.source_department, role=Role.ORIGINATOR)
    change.record(reporter, "created", S.CREATED, reason)


def push_back_limit(start: HandoffStart) -> tuple[datetime, Limit] | None:
    """A loop-2 hand-off's limit counted from the finding's decision; None for a loop 1."""
    if start.event.related_handoff_id is None:
        return None
    limit = start.limit(MatterStep.PUSH_BACK)
    assert limit is not None  # a default exists
    return start.event.occurred_at, limit


def check_push_back(change: Change, due: datetime) -> None:
    """A finding pushed back later than its limit after the decision earns the reporting regulator a red card."""
    if change.now > due:
        event = change.start.event
        change.card(CardLevel.RED, event.source_department, CardReason.PUSH_BACK_OVERDUE, "push_back", due, 1)


def close(change: Change, actor: Actor, remark: str | None, automatic: bool) -> None:
    """The loop closed by the originator's acknowledgement, or automatically when it is late; the receiver scores
    on time unless it missed the feedback limit."""
    state, now = change.state, change.now
    state.closed_at, state.auto_acknowledged = now, automatic
    change.stop(*HandoffClock)
    change.record(actor, "auto_acknowledged" if automatic else "acknowledged", S.LOOP_CLOSED, remark)
    change.settle_orders(SupervisionOrderStatus.LIFTED, "the loop is closed")
    receiver = state.receiver_code
    assert receiver is not None  # feedback came from it
    if HandoffClock.FEEDBACK not in state.breached:
        change.write(records.on_time(change.start, receiver, now))
    change.notify(receiver, PushKind.LOOP_CLOSED, "closed", {"stage": S.LOOP_CLOSED.value, "automatic": automatic})


# Commands, each checked by `check` first.


def claim(change: Change, command: Claim) -> None:
    change.state.claimed_at = change.now
    change.stop(HandoffClock.CLAIM)
    change.arm_matter(HandoffClock.ACT, MatterStep.ACT, change.now)
    change.record(command.actor, "claimed", S.CLAIMED)


def return_push(change: Change, command: ReturnPush) -> None:
    """Not its duty: the coordinator must reroute it; returned often enough, the registry is flagged as wrong."""
    start, state, now = change.start, change.state, change.now
    route = state.routes[-1]
    route.returned_at, route.return_reason, route.return_basis = now, command.reason, command.legal_basis
    change.stop(HandoffClock.CLAIM, HandoffClock.FEEDBACK, HandoffClock.ACT)
    change.arm(HandoffClock.REROUTE, now, change.limit(MatterStep.REROUTE))
    change.record(command.actor, "returned", S.RETURNED, f"{command.reason} (legal basis: {command.legal_basis})")
    misroutes = len(state.returned_by)
    if misroutes >= start.policy.misrouting_threshold:
        change.record(
            SYSTEM_ACTOR,
            "misrouting_flagged",
            S.RETURNED,
            f"returned {misroutes} times: the department-function registry may be wrong for "
            f"item {start.matter.target_item or start.event.item_code}",
        )


def reroute(change: Change, command: Reroute, department: str) -> None:
    """To `department` (named, or the next the registry names): a new push version, pushed next."""
    state, now = change.state, change.now
    state.receiver_code = department
    state.version += 1
    state.routes.append(Route(version=state.version, department_code=department, routed_at=now))
    state.push_pending = True
    change.stop(HandoffClock.REROUTE)
    change.arm_matter(HandoffClock.PUSH, MatterStep.PUSH, now)
    change.record(command.actor, "rerouted", S.REROUTED, f"to {department}: {command.reason}")


def start_acting(change: Change, command: StartActing) -> None:
    change.state.acting_at, change.state.measure = change.now, command.measure
    change.stop(HandoffClock.ACT)
    change.record(command.actor, "acting", S.ACTING, command.measure)


def send_feedback(change: Change, command: SendFeedback, reports: list[EventReport]) -> None:
    """The feedback, with what became of each finding's loop-2 hand-off (`reports` of their admission)."""
    state, now = change.state, change.now
    started: list[str] = []
    for report in reports:
        started.extend(handoff.handoff_id for handoff in report.handoffs)
        if not report.handoffs:
            reason = report.rejection.message if report.rejection else report.outcome.value
            change.record(command.actor, "finding_not_pushed_back", None, f"{report.event_key}: {reason}")
    state.feedback = Feedback(result=command.result, findings=command.findings, sent_at=now, details=command.details)
    change.stop(HandoffClock.CLAIM, HandoffClock.FEEDBACK, HandoffClock.ACT)
    change.arm(HandoffClock.ACKNOWLEDGE, now, change.limit(MatterStep.ACKNOWLEDGE))
    change.record(command.actor, "feedback_sent", S.FEEDBACK_SENT, command.result)
    for identifier in started:
        note_loop_two(change, identifier)
    change.settle_orders(SupervisionOrderStatus.ANSWERED, "answered by the feedback")
    change.notify(
        change.start.event.source_department,
        PushKind.HANDOFF_FEEDBACK,
        "feedback",
        presentation.feedback_body(state),
    )


def acknowledge(change: Change, command: Acknowledge) -> None:
    close(change, command.actor, command.remark or None, automatic=False)


def terminate(change: Change, command: Terminate) -> None:
    """Withdrawn: every clock stops, open orders are lifted, and a receiver that was pushed is told."""
    state, now = change.state, change.now
    state.push_pending = False
    state.terminated_at, state.termination_reason = now, command.reason
    change.stop(*HandoffClock)
    pushed = any(route.pushed_at is not None for route in state.routes)
    change.record(command.actor, "terminated", S.TERMINATED, command.reason)
    change.settle_orders(SupervisionOrderStatus.LIFTED, f"hand-off terminated: {command.reason}")
    if pushed and state.receiver_code is not None:
        body = {"stage": S.TERMINATED.value, "reason": command.reason}
        change.notify(state.receiver_code, PushKind.LOOP_CLOSED, "terminated", body)


def note_loop_two(change: Change, identifier: str) -> None:
    if identifier in change.state.loop_two:
        return
    change.state.loop_two.append(identifier)
    change.record(SYSTEM_ACTOR, "loop_two_started", None, f"findings pushed back in {identifier}")


# Pushing to the receiver.


def push_of(start: HandoffStart, state: HandoffState, now: datetime) -> Push:
    """The push of the receiver's package, one id per push version."""
    receiver = state.receiver_code
    assert receiver is not None  # a push is owed only to a routed hand-off
    return Push(
        push_id=f"{start.handoff_id}:push:v{state.version}",
        department_code=receiver,
        kind=PushKind.HANDOFF_PUSH,
        subject_id=start.handoff_id,
        issued_at=now,
        body=presentation.package(start, state.version),
    )


def still_routed(state: HandoffState, version: int) -> bool:
    """The push of `version` still matters: not rerouted since, nor closed or terminated."""
    return state.version == version and state.stage.is_open


def delivery_failing(change: Change, receiver: str, why: str) -> None:
    attempts = change.start.policy.delivery_attempts_before_alert
    change.record(
        SYSTEM_ACTOR,
        "delivery_failing",
        S.DELIVERY_FAILED,
        f"{attempts} attempts to reach {receiver} failed; still retrying: {why}",
    )


def delivery_failed(change: Change, receiver: str, why: str) -> None:
    change.state.push_pending = False
    change.record(
        SYSTEM_ACTOR,
        "delivery_failed",
        S.DELIVERY_FAILED,
        f"{receiver} refused the push; the coordinator must reroute it: {why}",
    )


def pushed(change: Change, receiver: str) -> None:
    """Delivered: the return window, the feedback and claim clocks (the claim's none under claim-on-push, where the
    push is the claim and the act clock starts)."""
    start, state, now = change.start, change.state, change.now
    state.push_pending = False
    state.routes[-1].pushed_at = now
    change.window(now, change.limit(MatterStep.RETURN))
    feedback_limit = start.limit(MatterStep.FEEDBACK)
    if feedback_limit is not None:
        change.arm(HandoffClock.FEEDBACK, now, feedback_limit)
    else:
        change.arm(HandoffClock.FEEDBACK, start.event.occurred_at, change.limit(MatterStep.END_TO_END))
    next_stage = stage_after_push(start)
    if next_stage is S.PUSHED:
        change.arm(HandoffClock.CLAIM, now, change.limit(MatterStep.CLAIM))
    change.stop(HandoffClock.REROUTE, HandoffClock.PUSH)
    action = "pushed"
    if next_stage is S.CLAIMED:
        state.claimed_at, state.claimed_on_push, action = now, True, "pushed_and_claimed"
        change.arm_matter(HandoffClock.ACT, MatterStep.ACT, now)
    change.record(SYSTEM_ACTOR, action, next_stage, f"delivered to {receiver} (push v{state.version})")


def sms_of(start: HandoffStart, state: HandoffState, push: Push) -> SmsNotification:
    """The courtesy SMS beside a delivered push, with the claim's deadline unless the push was the claim."""
    claim_clock = state.clocks.get(HandoffClock.CLAIM)
    due = claim_clock.due_at if claim_clock is not None and not state.claimed_on_push else None
    variables = {"matter": start.matter.code, "reference": start.event.reference}
    if due is not None:
        variables["claim_due"] = due.isoformat()
    return SmsNotification(
        notification_id=f"{push.push_id}:sms",
        department_code=push.department_code,
        matter_code=start.matter.code,
        template_id=SMS_TEMPLATE,
        variables=variables,
    )


def sms_not_sent(change: Change, why: str) -> None:
    change.record(SYSTEM_ACTOR, "sms_not_sent", None, why)


def notice_undelivered(change: Change, push: Push, why: str) -> None:
    change.record(SYSTEM_ACTOR, "notice_undelivered", None, f"{push.push_id}: {why}")
