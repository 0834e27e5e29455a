"""The hand-off's rules without Temporal: which command is allowed in which stage and from whom, what follows it,
and what each fired SLA rung means. The workflow's update validators call `check`; tests call it directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from schemas.actors import Role
from schemas.clock import FiredRung, RungKind
from schemas.handoff import (
    DATE_WINDOW,
    FINDING_EVENTS,
    Acknowledge,
    Actor,
    Claim,
    Command,
    HandoffClock,
    HandoffStage,
    HandoffStart,
    HandoffState,
    Reroute,
    ReturnPush,
    SendFeedback,
    SlaColour,
    SourceEvent,
    StartActing,
    Terminate,
)
from schemas.registry import ClaimMode
from schemas.rejections import Rejected

S = HandoffStage


# The stages each command may be sent in.
ALLOWED_STAGES: dict[type[Command], frozenset[HandoffStage]] = {
    Claim: frozenset({S.PUSHED}),
    ReturnPush: frozenset({S.PUSHED, S.CLAIMED}),
    Reroute: frozenset({S.CREATED, S.RETURNED, S.DELIVERY_FAILED}),
    StartActing: frozenset({S.CLAIMED}),
    SendFeedback: frozenset({S.CLAIMED, S.ACTING}),
    Acknowledge: frozenset({S.FEEDBACK_SENT}),
    Terminate: frozenset(stage for stage in HandoffStage if stage.is_open),
}

_VERBS: dict[type[Command], str] = {
    Claim: "claim",
    ReturnPush: "return",
    Reroute: "reroute",
    StartActing: "start acting on",
    SendFeedback: "send feedback on",
    Acknowledge: "acknowledge",
    Terminate: "terminate",
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


class RungAction(StrEnum):
    """What the hand-off does when a rung of one of its clocks fires."""

    NOTHING = "nothing"
    REMIND = "remind"  # a reminder push to the department whose step it is
    TURN_YELLOW = "turn_yellow"
    TURN_RED = "turn_red"
    YELLOW_CARD = "yellow_card"  # the claim limit passed
    RED_CARD_AND_ORDER = "red_card_and_order"  # the feedback limit passed
    REMINDER_NOTICE = "reminder_notice"
    CIRCULAR = "circular"
    ADMONITORY_TALK = "admonitory_talk"
    AUTO_ACKNOWLEDGE = "auto_acknowledge"
    REROUTE_OVERDUE = "reroute_overdue"  # the coordinator has not rerouted in time
    PUSH_OVERDUE = "push_overdue"  # the push is still undelivered at the matter's push limit
    ACT_OVERDUE = "act_overdue"  # the claimant has not started its measure within the matter's act limit
    ORDER_OVERDUE = "order_overdue"  # the supervision order is unanswered at its deadline


_BREACH: dict[HandoffClock, RungAction] = {
    HandoffClock.CLAIM: RungAction.YELLOW_CARD,
    HandoffClock.FEEDBACK: RungAction.RED_CARD_AND_ORDER,
    HandoffClock.ACKNOWLEDGE: RungAction.AUTO_ACKNOWLEDGE,
    HandoffClock.REROUTE: RungAction.REROUTE_OVERDUE,
    HandoffClock.PUSH: RungAction.PUSH_OVERDUE,
    HandoffClock.ACT: RungAction.ACT_OVERDUE,
    HandoffClock.SUPERVISION_ORDER: RungAction.ORDER_OVERDUE,
}

_BEFORE_DEADLINE: dict[RungKind, RungAction] = {
    RungKind.REMINDER: RungAction.REMIND,
    RungKind.BLUE: RungAction.REMIND,
    RungKind.YELLOW: RungAction.TURN_YELLOW,
    RungKind.ORANGE: RungAction.TURN_YELLOW,
    RungKind.RED: RungAction.TURN_RED,
    RungKind.ESCALATION_1: RungAction.REMIND,
}

# The ladder after a missed feedback; the supervision order was issued with the red card already.
_AFTER_FEEDBACK_BREACH: dict[RungKind, RungAction] = {
    RungKind.REMINDER_NOTICE: RungAction.REMINDER_NOTICE,
    RungKind.CIRCULAR: RungAction.CIRCULAR,
    RungKind.ESCALATION_2: RungAction.CIRCULAR,
    RungKind.ADMONITORY_TALK: RungAction.ADMONITORY_TALK,
    RungKind.ESCALATION_3: RungAction.ADMONITORY_TALK,
}


@dataclass(frozen=True)
class RungMeaning:
    action: RungAction
    breach: bool


def rung_meaning(clock: HandoffClock, rung: FiredRung, breached: bool) -> RungMeaning:
    """The first rung at or after the deadline is the breach, whatever the card profile calls it.

    Only the feedback clock climbs the ladder after its breach; the claim clock has done its work with the
    yellow card, and the acknowledgement and reroute clocks act once.
    """
    if rung.at >= rung.due_at and not breached:
        return RungMeaning(_BREACH[clock], breach=True)
    if breached:
        action = _AFTER_FEEDBACK_BREACH.get(rung.kind, RungAction.NOTHING)
        return RungMeaning(action if clock is HandoffClock.FEEDBACK else RungAction.NOTHING, breach=False)
    if clock is HandoffClock.FEEDBACK:
        return RungMeaning(_BEFORE_DEADLINE.get(rung.kind, RungAction.NOTHING), breach=False)
    if clock in (HandoffClock.ACT, HandoffClock.SUPERVISION_ORDER):
        # Reminders only: the feedback clock colours the loop, and the order came with a red card already.
        action = _BEFORE_DEADLINE.get(rung.kind, RungAction.NOTHING)
        return RungMeaning(action if action is RungAction.REMIND else RungAction.NOTHING, breach=False)
    if clock is HandoffClock.CLAIM:
        # A claim that is merely late earns a yellow card, so its clock never shows more than yellow.
        action = _BEFORE_DEADLINE.get(rung.kind, RungAction.NOTHING)
        return RungMeaning(RungAction.TURN_YELLOW if action is RungAction.TURN_RED else action, breach=False)
    return RungMeaning(RungAction.NOTHING, breach=False)


def deeper(current: SlaColour, new: SlaColour) -> SlaColour:
    """The SLA colour only deepens while the loop is open."""
    return new if new.rank > current.rank else current


def colour_of(action: RungAction) -> SlaColour | None:
    if action in (RungAction.TURN_YELLOW, RungAction.YELLOW_CARD):
        return SlaColour.YELLOW
    if action in (RungAction.TURN_RED, RungAction.RED_CARD_AND_ORDER):
        return SlaColour.RED
    return None


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


def remembered(handled: list[str], command_id: str, keep: int) -> list[str]:
    """The command (update) IDs to keep after `command_id`, oldest dropped first."""
    return [*handled, command_id][-keep:]
