"""A channel's batch after a door that died in the middle of one: the repeat starts nothing twice and loses nothing.

The door answers a batch only when every record's case has started and its intake row is written, so a record is
never answered as taken in and then lost; a door that dies leaves the channel without an answer, and it sends the
batch again. Here the first try took in two records, then died on the third just after its case started (before its
row was written); the repeat finds the first two, answers the third's running case (and writes its row), and starts
the fourth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.store.intake import IntakeRepository
from schemas.case.state import CaseRegistration
from schemas.intake import ChannelKind
from schemas.intake_api import HotlineWorkOrder
from services.intake.taking import Intake, Launched, channel_for, take_in
from tests.intake.conftest import HOTLINE, IntakeWorld
from tests.intake.test_intake import work_order


class DoorDied(Exception):
    pass


@dataclass
class DiesAfterStarting:
    """The engine's launch, then the door's death before it writes the intake row."""

    world: IntakeWorld

    async def start(self, registration: CaseRegistration, *, within: float | None = None) -> Launched:
        await self.world.engine.start(registration, within=within)
        raise DoorDied(registration.case_id)


async def test_a_batch_sent_again_after_the_door_died_starts_nothing_twice_and_loses_nothing(
    world: IntakeWorld, dev_env: WorkflowEnvironment
) -> None:
    hotline = world.client(HOTLINE)
    records: list[dict[str, Any]] = [work_order() for _ in range(4)]
    first = await hotline.post("/v1/intake/12345/work-orders/batch", json={"records": records[:2]})
    assert [item["outcome"] for item in first.json()["items"]] == ["created", "created"], first.text
    dying = Intake(sessions=world.sessions, engine=DiesAfterStarting(world), within=30)
    channel = await channel_for(dying, ChannelKind.HOTLINE, "12345", HOTLINE)
    with pytest.raises(DoorDied) as died:
        await take_in(dying, channel, HotlineWorkOrder(**records[2]), credential="tests", on_behalf_reason=None)
    third = str(died.value)
    async with world.sessions() as session:
        assert await IntakeRepository(session).record_of_case(third) is None
    runs = {
        item["result"]["case_id"]: (
            await dev_env.client.get_workflow_handle(item["result"]["case_id"]).describe()
        ).run_id
        for item in first.json()["items"]
    }
    runs[third] = (await dev_env.client.get_workflow_handle(third).describe()).run_id

    again = await hotline.post("/v1/intake/12345/work-orders/batch", json={"records": records})
    assert again.status_code == 200, again.text
    items = again.json()["items"]
    assert [item["outcome"] for item in items] == ["duplicate", "duplicate", "duplicate", "created"]
    cases = [item["result"]["case_id"] for item in items]
    assert cases[:2] == [item["result"]["case_id"] for item in first.json()["items"]]
    assert cases[2] == third and len(set(cases)) == 4
    for case_id, run_id in runs.items():  # the same runs: nothing was started again
        assert (await dev_env.client.get_workflow_handle(case_id).describe()).run_id == run_id
    async with world.sessions() as session:
        rows = [await IntakeRepository(session).record_of_case(case_id) for case_id in cases]
    assert [row.record_number if row else None for row in rows] == [record["work_order_number"] for record in records]

    settled = await hotline.post("/v1/intake/12345/work-orders/batch", json={"records": records})
    assert [item["outcome"] for item in settled.json()["items"]] == ["duplicate"] * 4
    assert [item["result"]["verification_code"] for item in settled.json()["items"]] == [
        item["result"]["verification_code"] for item in items
    ]
