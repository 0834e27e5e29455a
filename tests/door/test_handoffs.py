"""Hand-offs and the inbox through the front door: events are their own department's, a hand-off is seen and driven
by its parties only, its coordinator is the registry's, and an inbox is read and acknowledged by its department."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from activities.store.delivery import InboxRepository
from tests.door.conftest import COORDINATOR, OUTSIDER, DoorWorld
from tests.door.test_cases import audit, problem
from tests.support.department_world import APPROVAL_BUREAU, HEALTH_COMMISSION, eventually

LICENCE_TO_HEALTH = "SQ-SG-GGCSWS"


def licence_granted(reference: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "event": "case_closed",
        "item_code": "SP-GGCSWS",
        "occurred_at": datetime.now(UTC).isoformat(),
        "decision": "grant",
        "package": {"licence_no": "SW-2026-0001"},
    }


async def started(world: DoorWorld) -> str:
    answer = await world.client(APPROVAL_BUREAU).post("/v1/events", json=licence_granted(f"R-{uuid.uuid4().hex[:8]}"))
    assert answer.status_code == 200, answer.text
    [handoff] = answer.json()["handoffs"]
    assert (handoff["matter_code"], handoff["receiver_code"]) == (LICENCE_TO_HEALTH, HEALTH_COMMISSION)
    return str(handoff["handoff_id"])


async def test_an_event_is_its_departments_own(door_world: DoorWorld) -> None:
    body = {**licence_granted("R-1"), "source_department": HEALTH_COMMISSION}
    refused = problem(await door_world.client(APPROVAL_BUREAU).post("/v1/events", json=body), 422)
    assert refused["field"] == "source_department"


async def test_a_handoff_is_its_parties_only(door_world: DoorWorld) -> None:
    handoff_id = await started(door_world)
    path = f"/v1/handoffs/{handoff_id}"
    health, approval, outsider = (door_world.client(code) for code in (HEALTH_COMMISSION, APPROVAL_BUREAU, OUTSIDER))
    await eventually(lambda: health.get(path), lambda answer: answer.json()["stage"] == "claimed")
    assert (await approval.get(path)).status_code == 200
    assert (await door_world.client(COORDINATOR).get(path)).status_code == 200  # the registry's coordinator
    problem(await outsider.get(path), 404)
    problem(await outsider.post(f"{path}/start-acting", json={"role": "receiver", "measure": "x"}), 404)
    refused = problem(await approval.post(f"{path}/start-acting", json={"role": "receiver", "measure": "x"}), 403)
    assert refused["field"] == "role"
    # Only the registry's coordinator reroutes or terminates as coordinator.
    refused = problem(await health.post(f"{path}/terminate", json={"role": "coordinator", "reason": "dup"}), 403)
    assert refused["rule"] == "actor.coordinator"
    problem(await outsider.post(f"{path}/terminate", json={"role": "coordinator", "reason": "dup"}), 404)
    problem(await health.post(f"{path}/claim", json={"role": "system"}), 422)
    acting = await health.post(f"{path}/start-acting", json={"role": "receiver", "measure": "現場核查"})
    assert acting.status_code == 200, acting.text
    listed = await eventually(
        lambda: approval.get("/v1/handoffs", params={"matter": LICENCE_TO_HEALTH, "limit": 1000}),
        lambda answer: handoff_id in {item["handoff_id"] for item in answer.json()["items"]},
    )
    assert handoff_id in {item["handoff_id"] for item in listed.json()["items"]}
    theirs = await outsider.get("/v1/handoffs", params={"matter": LICENCE_TO_HEALTH})
    assert handoff_id not in {item["handoff_id"] for item in theirs.json()["items"]}
    assert (await outsider.get("/v1/handoffs/count", params={"matter": LICENCE_TO_HEALTH})).json() == {"count": 0}
    terminated = await door_world.client(COORDINATOR).post(
        f"{path}/terminate", json={"role": "coordinator", "reason": "重複推送"}
    )
    assert terminated.status_code == 200, terminated.text


async def test_an_event_and_its_withdrawal_are_recorded_with_the_credential_that_sent_them(
    door_world: DoorWorld,
) -> None:
    reference = f"R-{uuid.uuid4().hex[:8]}"
    reported = await door_world.client(APPROVAL_BUREAU).post("/v1/events", json=licence_granted(reference))
    assert reported.status_code == 200, reported.text
    [handoff] = reported.json()["handoffs"]
    withdrawal = {"event": "case_closed", "reference": reference, "reason": "申請人撤回申請"}
    withdrawn = await door_world.client(APPROVAL_BUREAU).post("/v1/withdrawals", json=withdrawal)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["terminated"] == [handoff["handoff_id"]]

    rows = await audit(door_world, handoff["handoff_id"], "created", "terminated")
    credential = f"key:{door_world.key_ids[APPROVAL_BUREAU]}"
    for action in ("created", "terminated"):
        row = rows[action]
        assert (row.actor, row.actor_id, row.credential_id, row.on_behalf_reason) == (
            "originator",
            APPROVAL_BUREAU,
            credential,
            None,
        ), action


async def test_an_operator_reports_and_withdraws_for_a_department_only_with_a_reason(door_world: DoorWorld) -> None:
    operator, health = door_world.client("operator"), door_world.client(HEALTH_COMMISSION)
    reference = f"R-{uuid.uuid4().hex[:8]}"
    behalf = {"on_behalf_of": APPROVAL_BUREAU, "on_behalf_reason": "審批局系統停機"}
    refused = problem(
        await operator.post("/v1/events", json={**licence_granted(reference), "on_behalf_of": APPROVAL_BUREAU}), 422
    )
    assert (refused["rule"], refused["field"]) == ("on-behalf.reason", "on_behalf_reason")
    refused = problem(await health.post("/v1/events", json={**licence_granted(reference), **behalf}), 403)
    assert (refused["rule"], refused["field"]) == ("on-behalf.operator-only", "on_behalf_of")
    batch = {"batch_id": f"B-{reference}", "events": [licence_granted(reference)], **behalf}
    problem(await health.post("/v1/event-batches", json=batch), 403)
    # The batch names the department once; its events may not name one of their own.
    entry = {**licence_granted(reference), **behalf}
    problem(await operator.post("/v1/event-batches", json={**batch, "events": [entry]}), 422)

    reported = await operator.post("/v1/events", json={**licence_granted(reference), **behalf})
    assert reported.status_code == 200, reported.text
    [handoff] = reported.json()["handoffs"]
    assert handoff["handoff_id"].startswith(f"handoff-{LICENCE_TO_HEALTH}-{APPROVAL_BUREAU}-")

    withdrawal = {"event": "case_closed", "reference": reference, "reason": "申請人撤回申請"}
    refused = problem(await operator.post("/v1/withdrawals", json={**withdrawal, "on_behalf_of": APPROVAL_BUREAU}), 422)
    assert refused["field"] == "on_behalf_reason"
    refused = problem(await health.post("/v1/withdrawals", json={**withdrawal, **behalf}), 403)
    assert refused["field"] == "on_behalf_of"
    # Without on_behalf_of a key withdraws its own department's events only: the health commission reported none.
    refused = problem(await health.post("/v1/withdrawals", json=withdrawal), 422)
    assert refused["rule"] == "withdrawal.unknown-event"
    withdrawn = await operator.post("/v1/withdrawals", json={**withdrawal, **behalf})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["terminated"] == [handoff["handoff_id"]]

    rows = await audit(door_world, handoff["handoff_id"], "created", "terminated")
    for action in ("created", "terminated"):
        row = rows[action]
        assert (row.actor_id, row.credential_id, row.on_behalf_reason) == (
            APPROVAL_BUREAU,
            f"key:{door_world.key_ids['operator']}",
            "審批局系統停機",
        ), action


async def inbox_item(world: DoorWorld, department: str, note: str) -> int:
    """A push waiting in `department`'s inbox, stored as the gateway stores one; its item ID."""
    now = datetime.now(UTC)
    async with world.sessions.begin() as session:
        entry = await InboxRepository(session).store(
            {
                "push_id": f"push-{uuid.uuid4().hex}",
                "department_code": department,
                "kind": "handoff_push",
                "subject_id": "handoff-x",
                "issued_at": now,
                "received_at": now,
                "body": {"note": note},
            }
        )
        return entry.id


async def test_an_inbox_is_its_departments_own(door_world: DoorWorld) -> None:
    item_id = await inbox_item(door_world, HEALTH_COMMISSION, "測試")
    mine = await door_world.client(HEALTH_COMMISSION).get("/v1/inbox", params={"limit": 1000})
    assert mine.status_code == 200
    assert item_id in {item["item_id"] for item in mine.json()["items"]}
    theirs = await door_world.client(OUTSIDER).get("/v1/inbox", params={"limit": 1000})
    assert theirs.json()["department_code"] == OUTSIDER
    assert item_id not in {item["item_id"] for item in theirs.json()["items"]}
    problem(await door_world.client(OUTSIDER).post(f"/v1/inbox/{item_id}/ack", json={"by": "x"}), 404)
    taken = await door_world.client(HEALTH_COMMISSION).post(f"/v1/inbox/{item_id}/ack", json={"by": "值班員"})
    assert taken.status_code == 200 and taken.json()["acknowledged_by"] == "值班員"
