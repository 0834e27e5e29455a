"""A hand-off's audit trail names the credential that sent each command, reported its event or withdrew it, and an
operator's reason for acting."""

from __future__ import annotations

from caseloop.direct.intake import withdraw_source
from schemas.handoff import Actor, Claim, HandoffStage, Role, SourceWithdrawal
from tests.handoff.conftest import APPROVAL_BUREAU, LABOUR_DISPATCH, MARKET_REGULATOR, Rig
from tests.handoff.scenario import act, claim, closed_approval, feedback, penalty
from workflows.handoff.entity import HandoffWorkflow


async def test_audit_rows_carry_the_credential_and_the_reason_for_acting_on_behalf(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    claimant = Actor(department=MARKET_REGULATOR, role=Role.RECEIVER, credential="key:abc", on_behalf_reason=None)
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, Claim(actor=claimant))
    operator = Actor(
        department=MARKET_REGULATOR,
        role=Role.RECEIVER,
        credential="jwt:sso.example:ops-7",
        on_behalf_reason="their system is down",
    )
    acting = act(MARKET_REGULATOR).model_copy(update={"actor": operator})
    await rig.handle(handoff).execute_update(HandoffWorkflow.start_acting, acting)

    trail = {entry.action: entry for entry in await rig.trail_until(handoff, "acting")}
    assert (trail["claimed"].actor_id, trail["claimed"].credential_id) == (MARKET_REGULATOR, "key:abc")
    assert trail["claimed"].on_behalf_reason is None
    assert (trail["acting"].credential_id, trail["acting"].on_behalf_reason) == (
        "jwt:sso.example:ops-7",
        "their system is down",
    )
    # The originator's event came without the door, and the system's rows never name a credential.
    assert (trail["created"].actor_id, trail["created"].credential_id) == (APPROVAL_BUREAU, None)
    assert all(entry.credential_id is None for entry in trail.values() if entry.actor == "system")


async def test_the_created_row_and_a_withdrawals_terminations_name_the_credential_that_reported_them(rig: Rig) -> None:
    door = Actor(department=APPROVAL_BUREAU, role=Role.ORIGINATOR, credential="key:approvals")
    event = closed_approval(LABOUR_DISPATCH, reported_by=door)
    [started] = (await rig.report(event)).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    operator = door.model_copy(update={"credential": "key:ops", "on_behalf_reason": "the bureau's system is down"})
    withdrawal = SourceWithdrawal(
        source_department=APPROVAL_BUREAU,
        event=event.event,
        reference=event.reference,
        reason="the applicant withdrew",
        reported_by=operator,
    )
    assert (await withdraw_source(rig.client, withdrawal, rig.task_queue)).terminated == [handoff]

    trail = {entry.action: entry for entry in await rig.trail_until(handoff, "terminated")}
    assert (trail["created"].actor, trail["created"].actor_id) == ("originator", APPROVAL_BUREAU)
    assert (trail["created"].credential_id, trail["created"].on_behalf_reason) == ("key:approvals", None)
    assert (trail["terminated"].actor_id, trail["terminated"].credential_id) == (APPROVAL_BUREAU, "key:ops")
    assert trail["terminated"].on_behalf_reason == "the bureau's system is down"


async def test_a_finding_pushed_back_is_reported_by_whoever_sent_the_feedback(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    loop_one = started.handoff_id
    await rig.until_stage(loop_one, HandoffStage.PUSHED)
    await rig.handle(loop_one).execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    sender = Actor(department=MARKET_REGULATOR, role=Role.RECEIVER, credential="key:market")
    finding = penalty(await rig.env.get_current_time())
    sent = feedback(MARKET_REGULATOR, finding).model_copy(update={"actor": sender})
    [loop_two] = (await rig.handle(loop_one).execute_update(HandoffWorkflow.send_feedback, sent)).loop_two
    rig.started.add(loop_two)

    created = {entry.action: entry for entry in await rig.trail_until(loop_two, "created")}["created"]
    assert (created.actor, created.actor_id, created.credential_id) == ("originator", MARKET_REGULATOR, "key:market")
