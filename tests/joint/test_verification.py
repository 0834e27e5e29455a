"""Verification calls through the front door: refused without the registry's grant, answered with it, and recorded
with who asked and why but without the personal data."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlalchemy import select

from activities.store.collaboration import VerificationCall
from tests.joint.conftest import FUND, HEALTH, MARRIAGE_ITEM, JointWorld

ID_NUMBER = "320000199001011234"
ASK = {
    "item": MARRIAGE_ITEM,
    "purpose": {"kind": "joint", "id": "GJJ-TQ-2026-0001"},
    "question": {"id_number": ID_NUMBER},
}


def _answered(system: str) -> float:
    value = REGISTRY.get_sample_value(
        "caseloop_verifications_total", {"item": MARRIAGE_ITEM, "system": system, "outcome": "answered"}
    )
    return value or 0.0


async def _calls(world: JointWorld) -> list[VerificationCall]:
    async with world.sessions() as session:
        return list((await session.scalars(select(VerificationCall).order_by(VerificationCall.id))).all())


async def test_a_department_without_the_grant_is_refused_before_any_call(joint_world: JointWorld) -> None:
    answer = await joint_world.client(HEALTH).post("/v1/verifications", json=ASK, headers={"Idempotency-Key": "w-1"})

    assert answer.status_code == 403
    problem = answer.json()
    assert (problem["rule"], problem["field"]) == ("verification.grant", "item")
    assert joint_world.answering.questions == []
    (refusal,) = await _calls(joint_world)
    assert (refusal.asking_department, refusal.outcome, refusal.purpose_id) == (
        HEALTH,
        "not_granted",
        "GJJ-TQ-2026-0001",
    )
    assert refusal.question_digest == "" and ID_NUMBER not in str(refusal.detail)


async def test_a_granted_department_gets_the_signed_answer_recorded_without_personal_data(
    joint_world: JointWorld,
) -> None:
    before = _answered("民政婚姻登記信息系統")

    answer = await joint_world.client(FUND).post("/v1/verifications", json=ASK, headers={"Idempotency-Key": "q-1"})

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["outcome"] == "answered"
    assert result["answer"] == {"married": True, "since": "2015-05-20"}
    assert (result["asking_department"], result["answering_department"]) == (FUND, "SQ-MZJ")
    (question,) = joint_world.answering.questions
    assert question["question"] == {"id_number": ID_NUMBER}
    (call,) = await _calls(joint_world)
    assert (call.asking_department, call.purpose_kind, call.purpose_id) == (FUND, "joint", "GJJ-TQ-2026-0001")
    assert call.outcome == "answered" and call.answer_digest == result["answer_digest"]
    stored = " ".join(str(getattr(call, column.key)) for column in VerificationCall.__table__.columns)
    assert ID_NUMBER not in stored and "2015-05-20" not in stored
    assert _answered("民政婚姻登記信息系統") == before + 1

    again = await joint_world.client(FUND).post("/v1/verifications", json=ASK, headers={"Idempotency-Key": "q-1"})

    assert again.json() == result
    assert len(joint_world.answering.questions) == 1


async def test_an_outage_is_retried_and_a_forged_answer_is_not_trusted(joint_world: JointWorld) -> None:
    joint_world.answering.outages = [503]

    retried = await joint_world.client(FUND).post("/v1/verifications", json=ASK, headers={"Idempotency-Key": "q-2"})

    assert retried.json()["outcome"] == "answered"
    assert [call.outcome for call in await _calls(joint_world)] == ["failed", "answered"]

    joint_world.answering.forge = True
    forged = await joint_world.client(FUND).post("/v1/verifications", json=ASK, headers={"Idempotency-Key": "q-3"})

    assert forged.json()["outcome"] == "untrusted"
    assert forged.json()["answer"] is None


async def test_an_unknown_item_and_a_bad_question_are_refused(joint_world: JointWorld) -> None:
    unknown = await joint_world.client(FUND).post("/v1/verifications", json={**ASK, "item": "NO-SUCH"})
    bad = await joint_world.client(FUND).post("/v1/verifications", json={**ASK, "question": {"id_number": "a\x00"}})

    assert unknown.status_code == 404
    assert bad.status_code == 422
