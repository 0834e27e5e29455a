"""A hand-off's audit trail names the credential that sent each command, and an operator's reason for acting."""

from __future__ import annotations

from schemas.handoff import Actor, ActorRole, Claim, HandoffStage
from tests.handoff.conftest import APPROVAL_BUREAU, LABOUR_DISPATCH, MARKET_REGULATOR, Rig
from tests.handoff.scenario import act, closed_approval
from workflows.handoff.entity import HandoffWorkflow


async def test_audit_rows_carry_the_credential_and_the_reason_for_acting_on_behalf(rig: Rig) -> None:
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    claimant = Actor(
        department_code=MARKET_REGULATOR, role=ActorRole.RECEIVER, credential="key:abc", on_behalf_reason=None
    )
    await rig.handle(handoff).execute_update(HandoffWorkflow.claim, Claim(actor=claimant))
    operator = Actor(
        department_code=MARKET_REGULATOR,
        role=ActorRole.RECEIVER,
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
    assert all(entry.credential_id is None for entry in trail.values() if entry.actor == "SYSTEM")
