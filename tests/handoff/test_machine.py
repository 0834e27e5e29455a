"""The hand-off's rules without Temporal: stages, actors, the return window, and what fired rungs mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.actors import Role
from schemas.clock import FiredRung, RungKind
from schemas.delivery import Push, PushKind
from schemas.handoff import (
    Acknowledge,
    Claim,
    Command,
    Finding,
    FindingKind,
    HandoffClock,
    HandoffPolicy,
    HandoffStage,
    HandoffState,
    Reroute,
    ReturnPush,
    Route,
    SendFeedback,
    SlaColour,
    SourceEvent,
    StartActing,
    Terminate,
    handoff_id,
    id_part,
)
from schemas.orders import LADDER_PUSHES
from schemas.registry import ClaimMode, HandoffDirection, HandoffRoute, TriggerEvent
from schemas.rejections import Rejected
from tests.handoff.builders import (
    APPROVAL_BUREAU,
    COORDINATION_CENTRE,
    HEALTH_COMMISSION,
    MARKET_REGULATOR,
    a_matter,
    a_start,
    an_event,
    coordinator,
    originator,
    receiver,
)
from workflows.handoff import ladder, machine, presentation
from workflows.handoff.effects import Change, deeper
from workflows.handoff.ladder import RungAction, rung_meaning
from workflows.handoff.machine import (
    ALLOWED_STAGES,
    check,
    findings_as_events,
    stage_after_push,
)

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def state(stage: HandoffStage, **changes: object) -> HandoffState:
    return HandoffState(stage=stage, receiver_code=MARKET_REGULATOR, version=1, **changes)


def rejection(command: Command, at: HandoffState, now: datetime = NOW) -> tuple[str, str]:
    with pytest.raises(Rejected) as raised:
        check(command, at, a_start(), now)
    return raised.value.rejection.message, raised.value.rejection.field or ""


def test_the_receiver_claims_a_pushed_handoff() -> None:
    check(Claim(actor=receiver()), state(HandoffStage.PUSHED), a_start(), NOW)


def test_a_claim_after_termination_is_rejected_naming_the_termination() -> None:
    terminated = state(HandoffStage.TERMINATED, termination_reason="source case withdrawn")
    rule, field = rejection(Claim(actor=receiver()), terminated)
    assert field == "stage"
    assert "terminated" in rule and "source case withdrawn" in rule


def test_feedback_from_a_department_that_is_not_the_claimant_is_rejected() -> None:
    claimed = state(HandoffStage.CLAIMED, claimed_at=NOW)
    command = SendFeedback(actor=receiver(HEALTH_COMMISSION), result="inspected")
    rule, field = rejection(command, claimed)
    assert field == "actor"
    assert f"only the claimant {MARKET_REGULATOR}" in rule


def test_only_the_originator_acknowledges_feedback() -> None:
    sent = state(HandoffStage.FEEDBACK_SENT)
    rule, field = rejection(Acknowledge(actor=receiver()), sent)
    assert field == "actor" and APPROVAL_BUREAU in rule
    check(Acknowledge(actor=originator()), sent, a_start(), NOW)


def test_only_the_coordinator_reroutes() -> None:
    returned = state(HandoffStage.RETURNED)
    rule, field = rejection(Reroute(actor=originator(), reason="misrouted"), returned)
    assert field == "actor" and "coordinator" in rule
    check(Reroute(actor=coordinator(), reason="misrouted"), returned, a_start(), NOW)


def test_a_reroute_to_a_department_that_returned_it_is_rejected() -> None:
    returned = state(
        HandoffStage.RETURNED,
        routes=[Route(version=1, department_code=MARKET_REGULATOR, routed_at=NOW, returned_at=NOW)],
    )
    command = Reroute(actor=coordinator(), department_code=MARKET_REGULATOR, reason="try again")
    rule, field = rejection(command, returned)
    assert field == "department_code" and "already returned" in rule


def test_a_return_after_its_window_is_rejected() -> None:
    pushed = state(HandoffStage.PUSHED, return_until=NOW)
    command = ReturnPush(actor=receiver(), reason="not ours", legal_basis="三定方案")
    check(command, pushed, a_start(), NOW)
    rule, field = rejection(command, pushed, NOW + timedelta(seconds=1))
    assert field == "" and "return window closed" in rule


def test_claim_on_push_rejects_a_second_claim_naming_the_matter_rule() -> None:
    claimed = state(HandoffStage.CLAIMED, claimed_on_push=True)
    rule, _ = rejection(Claim(actor=receiver()), claimed)
    assert "claims on push" in rule


def test_the_originator_or_the_coordinator_terminates_but_not_the_receiver() -> None:
    pushed = state(HandoffStage.PUSHED)
    check(Terminate(actor=originator(), reason="withdrawn"), pushed, a_start(), NOW)
    check(Terminate(actor=coordinator(), reason="duplicate"), pushed, a_start(), NOW)
    _, field = rejection(Terminate(actor=receiver(), reason="bored"), pushed)
    assert field == "actor"


def test_a_handoff_that_knows_its_coordinator_is_rerouted_and_terminated_as_coordinator_by_it_only() -> None:
    start = a_start(coordinator=COORDINATION_CENTRE)
    returned, pushed = state(HandoffStage.RETURNED), state(HandoffStage.PUSHED)
    check(Reroute(actor=coordinator(), reason="misrouted"), returned, start, NOW)
    check(Terminate(actor=coordinator(), reason="duplicate"), pushed, start, NOW)
    for command, at in (
        (Reroute(actor=coordinator(HEALTH_COMMISSION), reason="misrouted"), returned),
        (Terminate(actor=coordinator(HEALTH_COMMISSION), reason="duplicate"), pushed),
    ):
        with pytest.raises(Rejected) as raised:
            check(command, at, start, NOW)
        rejection = raised.value.rejection
        assert (rejection.rule, rejection.field) == ("actor.coordinator", "actor")
        assert COORDINATION_CENTRE in rejection.message and HEALTH_COMMISSION in rejection.message
    # The originator still terminates its own hand-off, whoever coordinates it.
    check(Terminate(actor=originator(), reason="withdrawn"), pushed, start, NOW)


def test_a_handoff_admitted_before_its_coordinator_was_kept_takes_any_coordinator_as_before() -> None:
    assert a_start().coordinator_code is None
    check(
        Reroute(actor=coordinator(HEALTH_COMMISSION), reason="misrouted"), state(HandoffStage.RETURNED), a_start(), NOW
    )
    check(Terminate(actor=coordinator(HEALTH_COMMISSION), reason="dup"), state(HandoffStage.PUSHED), a_start(), NOW)


def test_the_reporter_of_an_event_or_a_withdrawal_is_its_source_department_as_originator() -> None:
    reported = an_event(reported_by=originator().model_copy(update={"credential": "key:abc"}))
    assert reported.reported_by is not None and reported.key == an_event().key  # the credential is not the event
    for reporter in (originator(HEALTH_COMMISSION), receiver(APPROVAL_BUREAU)):
        with pytest.raises(ValidationError, match="reported_by"):
            an_event(reported_by=reporter)
    old = an_event().model_dump(mode="json")
    del old["reported_by"]
    assert SourceEvent.model_validate(old).reported_by is None  # events recorded before it was kept still parse


COMMANDS: list[Command] = [
    Claim(actor=receiver()),
    ReturnPush(actor=receiver(), reason="not ours", legal_basis="三定方案"),
    Reroute(actor=coordinator(), reason="misrouted"),
    StartActing(actor=receiver(), measure="inspection"),
    SendFeedback(actor=receiver(), result="ok"),
    Acknowledge(actor=originator()),
    Terminate(actor=coordinator(), reason="withdrawn"),
]


@settings(max_examples=150)
@given(command=st.sampled_from(COMMANDS), stage=st.sampled_from(list(HandoffStage)))
def test_a_command_with_the_right_actor_passes_exactly_in_its_stages(command: Command, stage: HandoffStage) -> None:
    try:
        check(command, state(stage), a_start(), NOW)
        accepted = True
    except Rejected as rejected:
        accepted = False
        assert rejected.rejection.field == "stage"
    assert accepted == (stage in ALLOWED_STAGES[type(command)])


def test_claim_on_push_matters_start_claimed() -> None:
    assert stage_after_push(a_start(a_matter(claim_mode=ClaimMode.ON_PUSH))) is HandoffStage.CLAIMED
    assert stage_after_push(a_start()) is HandoffStage.PUSHED


def fired(kind: RungKind, at: datetime, due_at: datetime) -> FiredRung:
    return FiredRung(kind=kind, at=at, fired_at=at, deadline_version=1, due_at=due_at)


def test_the_first_rung_at_the_deadline_is_the_breach_of_each_clock() -> None:
    due = NOW
    red = fired(RungKind.RED, due, due)
    assert rung_meaning(HandoffClock.CLAIM, red, breached=False).action is RungAction.YELLOW_CARD
    assert rung_meaning(HandoffClock.FEEDBACK, red, breached=False).action is RungAction.RED_CARD_AND_ORDER
    assert rung_meaning(HandoffClock.ACKNOWLEDGE, red, breached=False).action is RungAction.AUTO_ACKNOWLEDGE
    assert rung_meaning(HandoffClock.REROUTE, red, breached=False).action is RungAction.REROUTE_OVERDUE


def test_only_the_feedback_clock_climbs_the_ladder_after_its_breach() -> None:
    later = fired(RungKind.CIRCULAR, NOW + timedelta(days=7), NOW)
    assert rung_meaning(HandoffClock.FEEDBACK, later, breached=True).action is RungAction.CIRCULAR
    assert rung_meaning(HandoffClock.CLAIM, later, breached=True).action is RungAction.NOTHING
    order = fired(RungKind.SUPERVISION_ORDER, NOW + timedelta(days=1), NOW)
    assert rung_meaning(HandoffClock.FEEDBACK, order, breached=True).action is RungAction.NOTHING


def test_a_late_claim_never_shows_red() -> None:
    early_red = fired(RungKind.RED, NOW - timedelta(hours=2), NOW)  # a profile with red before the deadline
    assert rung_meaning(HandoffClock.CLAIM, early_red, breached=False).action is RungAction.TURN_YELLOW
    assert rung_meaning(HandoffClock.FEEDBACK, early_red, breached=False).action is RungAction.TURN_RED


def test_the_colour_only_deepens() -> None:
    assert deeper(SlaColour.RED, SlaColour.YELLOW) is SlaColour.RED
    assert deeper(SlaColour.GREEN, SlaColour.YELLOW) is SlaColour.YELLOW


def test_handoff_ids_follow_the_design_and_keep_personal_free_references_readable() -> None:
    identifier = handoff_id("M-FOOD-A2S", APPROVAL_BUREAU, "SQ-2025-0001", HandoffDirection.APPROVAL_TO_SUPERVISION)
    assert identifier == "handoff-M-FOOD-A2S-SQ-XZSPJ-SQ-2025-0001-a2s"


def test_references_that_are_not_id_safe_are_pinned_by_a_hash() -> None:
    first, second = id_part("宿審批〔2025〕12號"), id_part("宿審批〔2025〕13號")
    assert first != second
    assert first.isascii() and second.isascii()
    assert len(id_part("x" * 500)) <= 64


def test_an_issue_raised_event_is_refused_as_a_case_matter() -> None:
    with pytest.raises(ValidationError, match="starts a case"):
        an_event(event=TriggerEvent.ISSUE_RAISED)


def test_an_event_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        SourceEvent.model_validate({**an_event().model_dump(), "occurred_at": datetime(2025, 3, 3, 10, 0)})


def test_each_finding_becomes_an_event_of_the_receiver_linked_to_the_hand_off() -> None:
    start = a_start()
    decided = datetime(2026, 3, 2, 9, tzinfo=UTC)
    sender = receiver(MARKET_REGULATOR).model_copy(update={"credential": "key:market"})
    command = SendFeedback(
        actor=sender,
        result="pledge found false on site",
        findings=[Finding(kind=FindingKind.PENALTY, reference="宿市監罰〔2026〕1號", decided_at=decided)],
    )
    [event] = findings_as_events(start, command)
    assert (event.source_department, event.event, event.related_handoff_id, event.occurred_at) == (
        MARKET_REGULATOR,
        TriggerEvent.PENALTY_DECIDED,
        start.handoff_id,
        decided,
    )
    assert event.reported_by is not None
    assert (event.reported_by.role, event.reported_by.credential) == (Role.ORIGINATOR, "key:market")


def test_a_command_is_remembered_with_its_first_answer_and_the_oldest_forgotten() -> None:
    start, state = a_start(), HandoffState(stage=HandoffStage.PUSHED, receiver_code=MARKET_REGULATOR)
    policy = HandoffPolicy(remembered_commands=10)
    first = presentation.view(start, state)
    machine.remember(state, "id-0", "claim by receiver SQ-SCJGJ", first, policy)
    state.stage = HandoffStage.CLAIMED
    assert machine.answer(state, "id-0") == first, "the first answer, not the hand-off as it is"
    assert machine.answer(state, "unknown") is None
    for number in range(1, 11):
        machine.remember(state, f"id-{number}", "acting", presentation.view(start, state), policy)
    assert state.handled_commands == [f"id-{number}" for number in range(1, 11)]
    assert set(state.answers) == set(state.handled_as) == set(state.handled_commands)
    # A whole view is kept for the latest few only; older ids still refuse another command under them.
    machine.remember(
        state,
        "id-11",
        "acting",
        presentation.view(start, state),
        HandoffPolicy(remembered_commands=10, remembered_answers=3),
    )
    assert list(state.answers) == ["id-9", "id-10", "id-11"] and len(state.handled_as) == 10


def test_a_reroute_needs_a_department_the_registry_knows_or_names() -> None:
    with pytest.raises(Rejected) as unknown:
        machine.named_receiver("SQ-NOWHERE", None)
    assert (unknown.value.rejection.rule, unknown.value.rejection.field) == (
        "reroute.unknown-department",
        "department_code",
    )
    with pytest.raises(Rejected) as none_left:
        machine.next_receiver(a_start(), HandoffRoute(matter=a_matter(), receivers=[], routed_by_function=True))
    assert none_left.value.rejection.rule == "reroute.no-department"


def test_the_ladder_after_a_missed_feedback_sends_what_a_case_sends_for_the_same_rung() -> None:
    state = HandoffState(stage=HandoffStage.CLAIMED, receiver_code=MARKET_REGULATOR, breached=[HandoffClock.FEEDBACK])
    sent: dict[RungKind, tuple[PushKind, str]] = {}
    for kind in (RungKind.REMINDER_NOTICE, RungKind.CIRCULAR, RungKind.ADMONITORY_TALK):
        change = Change(a_start(), state, NOW + timedelta(days=10))
        ladder.fire(change, HandoffClock.FEEDBACK, fired(kind, NOW + timedelta(days=10), NOW))
        [push] = [step for step in change.effects.steps if isinstance(step, Push)]
        assert push.department_code == MARKET_REGULATOR and push.kind is LADDER_PUSHES[kind]
        assert [escalation.rung for escalation in change.effects.escalations] == [kind]
        sent[kind] = (push.kind, str(push.body["rung"]))
    assert sent[RungKind.ADMONITORY_TALK] == (PushKind.REMINDER, "admonitory_talk"), "as a case's admonitory talk"
