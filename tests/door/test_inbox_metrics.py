"""Inbox calls at the front door are counted per department: a read and an acknowledgement of its own item count
under the caller's department; an acknowledgement refused as not its own counts nothing."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.door.conftest import OUTSIDER, DoorWorld
from tests.door.test_handoffs import inbox_item
from tests.support.department_world import HEALTH_COMMISSION


def _calls(department: str, call: str) -> float:
    return REGISTRY.get_sample_value("caseloop_inbox_calls_total", {"department": department, "call": call}) or 0.0


async def test_inbox_reads_and_acknowledgements_count_under_the_callers_department(door_world: DoorWorld) -> None:
    item_id = await inbox_item(door_world, HEALTH_COMMISSION, "count me")
    calls = {key: _calls(*key) for key in [(HEALTH_COMMISSION, "read"), (HEALTH_COMMISSION, "acknowledge")]}
    outsider_acks = _calls(OUTSIDER, "acknowledge")

    assert (await door_world.client(HEALTH_COMMISSION).get("/v1/inbox")).status_code == 200
    refused = await door_world.client(OUTSIDER).post(f"/v1/inbox/{item_id}/ack", json={"by": "x"})
    taken = await door_world.client(HEALTH_COMMISSION).post(f"/v1/inbox/{item_id}/ack", json={"by": "duty officer"})

    assert (refused.status_code, taken.status_code) == (404, 200)
    assert {key: _calls(*key) - before for key, before in calls.items()} == {
        (HEALTH_COMMISSION, "read"): 1,
        (HEALTH_COMMISSION, "acknowledge"): 1,
    }
    assert _calls(OUTSIDER, "acknowledge") == outsider_acks
