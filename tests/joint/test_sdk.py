"""Joint applications, scheduled deliveries and verification calls through the SDK: a department system's
`CaseClient` over real HTTP against the real front door and worker of the joint world, as the door tests drive them
with bare HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from caseloop.errors import Forbidden, InputRejected, NotFound
from caseloop.sdk.client import CaseClient
from schemas.scheduled import DeliveryDayRun
from tests.joint.conftest import (
    CANTEEN_PLATFORM,
    COLLECTORS,
    FUND,
    HEALTH,
    HOUSING,
    MARRIAGE_ITEM,
    JointWorld,
)
from tests.joint.test_delivery_door import PRICES, RECORDS, _a_weekday_ahead
from tests.joint.test_joint_door import ID_NUMBER
from workflows.delivery.rules import day_id
from workflows.delivery.workflow import DeliveryDayWorkflow

Connect = Callable[[str], Awaitable[CaseClient]]


@pytest.fixture
async def connect(joint_world: JointWorld) -> AsyncIterator[Connect]:
    """Connects as a department with its key in the joint world; the clients close when the test ends."""
    opened: list[CaseClient] = []

    async def as_department(department: str) -> CaseClient:
        client = await CaseClient.connect(joint_world.url, joint_world.keys[department], within=30)
        opened.append(client)
        return client

    yield as_department
    for client in opened:
        await client.close()


async def test_a_joint_application_opened_read_and_its_step_done(connect: Connect) -> None:
    fund, housing, health = await connect(FUND), await connect(HOUSING), await connect(HEALTH)
    joint_id = f"GJJ-{uuid.uuid4().hex[:10]}"
    application = {"id_number": ID_NUMBER}

    with pytest.raises(Forbidden) as outsider:
        await health.open_joint(joint_id=joint_id, matter_code="GJJ-TQ", application=application)
    opened = await fund.open_joint(joint_id=joint_id, matter_code="GJJ-TQ", application=application)
    again = await fund.open_joint(joint_id=joint_id, matter_code="GJJ-TQ", application=application)

    assert (outsider.value.rule, outsider.value.field) == ("actor.step_department", "matter_code")
    assert (opened.joint_id, opened.matter_code, opened.status.value) == (joint_id, "GJJ-TQ", "running")
    assert again.verification_code == opened.verification_code
    read = await fund.read_joint(joint_id)
    assert read.joint_id == joint_id and read.step("purchase") is not None
    with pytest.raises(NotFound):
        await health.read_joint(joint_id)

    with pytest.raises(InputRejected) as not_theirs:
        await fund.complete_joint_step(joint_id, "purchase")
    assert not_theirs.value.rule == "actor.step_department"
    key = f"purchase-{uuid.uuid4().hex[:8]}"
    done = await housing.complete_joint_step(joint_id, "purchase", note="備案號 2026-88", command_id=key)
    repeated = await housing.complete_joint_step(joint_id, "purchase", note="備案號 2026-88", command_id=key)

    step = done.step("purchase")
    assert step is not None and step.status.value == "done"
    assert repeated.version == done.version
    assert repeated.model_dump() == done.model_dump()


async def test_a_day_delivered_read_and_rejected(joint_world: JointWorld, connect: Connect) -> None:
    collectors, platform = await connect(COLLECTORS), await connect(CANTEEN_PLATFORM)
    day = _a_weekday_ahead()
    handle = await joint_world.env.client.start_workflow(
        DeliveryDayWorkflow.run,
        DeliveryDayRun(delivery_code=PRICES, day=day),
        id=day_id(PRICES, day),
        task_queue=joint_world.settings.task_queue,
    )
    try:
        with pytest.raises(Forbidden) as refused:
            await platform.deliver(PRICES, day, RECORDS)
        assert (refused.value.rule, refused.value.field) == ("actor.deliverer", "department")

        key = f"prices-{uuid.uuid4().hex[:8]}"
        delivered = await collectors.deliver(PRICES, day, RECORDS, command_id=key)
        again = await collectors.deliver(PRICES, day, RECORDS, command_id=key)
        assert (delivered.status.value, delivered.late, delivered.records) == ("delivered", False, 1)
        assert again.version == delivered.version
        read = await platform.read_delivery_day(PRICES, day)
        assert (read.status.value, read.digest) == ("delivered", delivered.digest)
        assert (read.deliverer, read.receiver) == (COLLECTORS, CANTEEN_PLATFORM)

        rejected = await platform.reject_delivery(PRICES, day, reason="the 宿城 market's prices are missing")
        assert rejected.status.value == "expected"
        assert rejected.rejections[0].reason == "the 宿城 market's prices are missing"
        with pytest.raises(InputRejected) as empty:
            await platform.reject_delivery(PRICES, day, reason="")
        assert empty.value.field == "reason"
    finally:
        await handle.terminate("the test is over")


async def test_a_verification_answered_once_per_key_and_refused_without_a_grant(
    joint_world: JointWorld, connect: Connect
) -> None:
    fund, health = await connect(FUND), await connect(HEALTH)
    purpose = {"kind": "joint", "id": f"GJJ-{uuid.uuid4().hex[:10]}"}
    question = {"id_number": ID_NUMBER}

    with pytest.raises(Forbidden) as refused:
        await health.verify(item=MARRIAGE_ITEM, purpose=purpose, question=question)
    assert (refused.value.rule, refused.value.field) == ("verification.grant", "item")
    assert joint_world.answering.questions == []

    key = f"verify-{uuid.uuid4().hex[:8]}"
    answered = await fund.verify(item=MARRIAGE_ITEM, purpose=purpose, question=question, command_id=key)
    again = await fund.verify(
        item=MARRIAGE_ITEM, purpose_kind="joint", purpose_id=purpose["id"], question=question, command_id=key
    )
    assert (answered.outcome.value, answered.call_id, answered.asking_department) == ("answered", key, FUND)
    assert again == answered
    assert len(joint_world.answering.questions) == 1  # the repeat answered the first call's result
