"""A hand-off checks a fact in another department's system as a command, through the SDK and the front door on the
dev server, with the answering system on 127.0.0.1: the health commission, pushed a public-place health licence,
checks the business licence of the entity with the market regulator's registration system (the press release's
licence checks). The outcome and the answer's digest are attached to the hand-off's view and trail, never the
personal data; a department without the registry's grant is refused and nothing is attached; a department with no
part in the hand-off cannot ask for it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.store.collaboration import VerificationCall
from activities.store.ledger.audit import AuditTrailRepository
from caseloop import CaseClient, InputRejected, NotFound
from schemas.handoff import HandoffStage
from schemas.ledger import AuditEntry
from tests.joint.answering import AnsweringSystem, Grant, VerifyingWorld, verifying_world
from tests.joint.conftest import SECRET, SECRET_REF
from tests.sdk.test_handoffs import licence_granted
from tests.support.department_world import (
    APPROVAL_BUREAU,
    HEALTH_COMMISSION,
    MARKET_REGULATOR,
    eventually,
)

LICENCE_ITEM = "SC-YYZZ"  # 營業執照核驗, answered by the market regulator
CREDIT_CODE = "91321300MA1TEST01X"
ANSWER = {"registered": True, "status": "存續", "name": "示例浴室有限公司"}


HandoffWorld = VerifyingWorld
# The business-licence item at the test's answering system, granted to the health commission alone.
LICENCE_GRANT = Grant(LICENCE_ITEM, "營業執照核驗", MARKET_REGULATOR, "市場主體登記系統", HEALTH_COMMISSION)


@pytest.fixture
async def world(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[HandoffWorld]:
    answering = AnsweringSystem(SECRET, {CREDIT_CODE: ANSWER}, key="credit_code")
    async with verifying_world(dev_env, tmp_path, monkeypatch, answering, LICENCE_GRANT, SECRET_REF) as world:
        yield world


async def _trail(world: HandoffWorld, handoff_id: str) -> list[AuditEntry]:
    async with world.worker.sessions() as session:
        return list(await AuditTrailRepository(session).entries_for(handoff_id))


async def _pushed(approval: CaseClient, health: CaseClient) -> str:
    report = await approval.report_event(licence_granted(f"SQ-SP-{uuid.uuid4().hex[:10]}"))
    [started] = report.handoffs
    handoff = health.handoff(started.handoff_id, actor="receiver")
    await eventually(handoff.view, lambda view: view.stage is HandoffStage.CLAIMED)
    return started.handoff_id


async def test_a_handoff_attaches_the_outcome_and_digest_of_a_granted_verification(world: HandoffWorld) -> None:
    approval = await world.door.connect(APPROVAL_BUREAU)
    health = await world.door.connect(HEALTH_COMMISSION)
    try:
        handoff_id = await _pushed(approval, health)
        receiver = health.handoff(handoff_id, actor="receiver")

        ask = {"item": LICENCE_ITEM, "question": {"credit_code": CREDIT_CODE}, "reason": "現場檢查前核驗營業執照"}
        view = await receiver.verify_fact(**ask, command_id="hv-1")  # type: ignore[arg-type]
        again = await receiver.verify_fact(**ask, command_id="hv-1")  # type: ignore[arg-type]

        assert again == view
        (question,) = world.answering.questions  # the repeat is answered, not asked again
        assert question["question"] == {"credit_code": CREDIT_CODE}
        (attached,) = view.verifications
        assert (attached.item, attached.outcome, attached.answering_department) == (
            LICENCE_ITEM,
            "answered",
            MARKET_REGULATOR,
        )
        assert (attached.asked_by.department, attached.system) == (HEALTH_COMMISSION, "市場主體登記系統")
        assert view.stage is HandoffStage.CLAIMED, "a verification moves no stage"
        async with world.worker.sessions() as session:
            (call,) = (await session.scalars(select(VerificationCall))).all()
        # The trail is written as the transition ends, after the state changed.
        entries = await eventually(
            lambda: _trail(world, handoff_id), lambda found: "verified" in {entry.action for entry in found}
        )
        trail = [entry for entry in entries if entry.action == "verified"]
        assert (call.asking_department, call.purpose_kind, call.purpose_id) == (
            HEALTH_COMMISSION,
            "handoff",
            handoff_id,
        )
        assert call.answer_digest == attached.answer_digest is not None
        (verified,) = trail
        assert attached.answer_digest in (verified.reason or "")
        shown = view.model_dump_json() + (await approval.handoff(handoff_id).view()).model_dump_json()
        shown += " ".join(row.reason or "" for row in trail)
        assert CREDIT_CODE not in shown and "存續" not in shown and "示例浴室" not in shown
    finally:
        for opened in (approval, health):
            await opened.close()


async def test_a_department_without_the_grant_is_refused_and_nothing_is_attached(world: HandoffWorld) -> None:
    approval = await world.door.connect(APPROVAL_BUREAU)
    health = await world.door.connect(HEALTH_COMMISSION)
    outsider = await world.door.connect("SQ-FGW")
    try:
        handoff_id = await _pushed(approval, health)
        originator = approval.handoff(handoff_id, actor="originator")
        before = await originator.view()

        with pytest.raises(InputRejected) as refused:
            await originator.verify_fact(item=LICENCE_ITEM, question={"credit_code": CREDIT_CODE})
        assert (refused.value.rule, refused.value.field) == ("verification.grant", "item")
        with pytest.raises(NotFound):  # no party: the hand-off is not even visible to it
            await outsider.handoff(handoff_id, actor="receiver").verify_fact(
                item=LICENCE_ITEM, question={"credit_code": CREDIT_CODE}
            )

        after = await originator.view()
        assert after.verifications == [] and after == before
        assert world.answering.questions == []
    finally:
        for opened in (approval, health, outsider):
            await opened.close()
