"""A case checks a fact in another department's system as a command, through the SDK and the front door on the dev
server, with the answering system on 127.0.0.1: the outcome and the answer's digest are attached to the case's
timeline and view, never the personal data; a department without the registry's grant is refused and nothing is
attached."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.store.collaboration import VerificationCall
from caseloop import CaseClient
from caseloop.errors import InputRejected
from schemas.case.stages import CaseStage
from tests.joint.answering import AnsweringSystem, Grant, verifying_world
from tests.joint.conftest import CIVIL_AFFAIRS, MARRIAGE_ITEM, SECRET, SECRET_REF
from tests.sdk.world import World, add_launchable_matter, case_number
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG
from workers.resources import Resources

ID_NUMBER = "320000199001011234"
ANSWER = {"married": True, "since": "2015-05-20"}


@dataclass
class CaseWorld:
    door: World
    worker: Resources
    answering: AnsweringSystem
    matter: str


# The marital-status item at the test's answering system, granted to the housing bureau (the cases' lead).
MARRIAGE_GRANT = Grant(MARRIAGE_ITEM, "婚姻登記信息核驗", CIVIL_AFFAIRS, "民政婚姻登記信息系統", HOUSING)


@pytest.fixture
async def world(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CaseWorld]:
    answering = AnsweringSystem(SECRET, {ID_NUMBER: ANSWER})
    async with verifying_world(dev_env, tmp_path, monkeypatch, answering, MARRIAGE_GRANT, SECRET_REF) as world:
        matter = await add_launchable_matter(world.worker.sessions, tmp_path)
        yield CaseWorld(world.door, world.worker, world.answering, matter)


async def _launched(world: CaseWorld, client: CaseClient, coordinator: CaseClient) -> str:
    case = await client.launch(
        case_number=case_number(), matter_code=world.matter, locality_code=SUCHENG, title="公積金提取核驗(測試)"
    )
    await coordinator.case_by_id(case.case_id, actor="coordinator").accept()
    return case.case_id


async def test_a_case_attaches_the_outcome_and_digest_of_a_granted_verification(world: CaseWorld) -> None:
    client = await world.door.connect("SQ-FGW")
    coordinator = await world.door.connect(BUSINESS_OFFICE)
    housing = await world.door.connect(HOUSING)
    try:
        case_id = await _launched(world, client, coordinator)
        lead = housing.case_by_id(case_id, actor="lead")

        ask = {"item": MARRIAGE_ITEM, "question": {"id_number": ID_NUMBER}, "reason": "提取前核驗婚姻狀況"}
        result = await lead.verify_fact(**ask, command_id="v-1")  # type: ignore[arg-type]
        again = await lead.verify_fact(**ask, command_id="v-1")  # type: ignore[arg-type]

        assert result.command == "verify_fact" and result.stage is CaseStage.LAUNCHED
        assert again == result
        (question,) = world.answering.questions  # the repeat is answered, not asked again
        assert question["question"] == {"id_number": ID_NUMBER}
        view = await lead.state()
        (attached,) = view.verifications
        assert (attached.item, attached.outcome, attached.answering_department) == (
            MARRIAGE_ITEM,
            "answered",
            CIVIL_AFFAIRS,
        )
        assert (attached.asked_by.department, attached.system) == (HOUSING, "民政婚姻登記信息系統")
        async with world.worker.sessions() as session:
            (call,) = (await session.scalars(select(VerificationCall))).all()
        assert (call.asking_department, call.purpose_kind, call.purpose_id) == (HOUSING, "case", case_id)
        assert call.answer_digest == attached.answer_digest is not None
        timeline = await lead.timeline(limit=1000)
        verified = timeline.entries[-1]
        assert verified.action == "verified" and verified.actor.department == HOUSING
        assert attached.answer_digest in (verified.note or "")
        shown = view.model_dump_json() + timeline.model_dump_json()
        assert ID_NUMBER not in shown and "2015-05-20" not in shown
        assert ID_NUMBER not in json.dumps(call.detail or "")
    finally:
        for opened in (client, coordinator, housing):
            await opened.close()


async def test_a_department_without_the_grant_is_refused_and_nothing_is_attached(world: CaseWorld) -> None:
    client = await world.door.connect("SQ-FGW")
    coordinator = await world.door.connect(BUSINESS_OFFICE)
    locality = await world.door.connect(SUCHENG)
    try:
        case_id = await _launched(world, client, coordinator)
        handle = locality.case_by_id(case_id, actor="locality")
        before = await handle.state()

        with pytest.raises(InputRejected) as refused:
            await handle.verify_fact(item=MARRIAGE_ITEM, question={"id_number": ID_NUMBER})

        assert (refused.value.rule, refused.value.field) == ("verification.grant", "item")
        after = await handle.state()
        assert after.verifications == [] and after.seq == before.seq
        assert world.answering.questions == []
    finally:
        for opened in (client, coordinator, locality):
            await opened.close()
