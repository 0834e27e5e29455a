"""Cases through the front door, over real HTTP on the dev server: who may launch, read, list, count and act."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from activities.store.ledger.audit import AuditRecord
from schemas.case.state import case_id_of
from tests.door.conftest import (
    BYSTANDER,
    COORDINATOR,
    INITIATOR,
    LEAD,
    LOCALITY,
    OUTSIDER,
    SUPERVISOR,
    DoorWorld,
)
from tests.support.department_world import eventually

PROBLEM = "application/problem+json"


def number() -> str:
    return f"N-{uuid.uuid4().hex[:10]}"


async def launch(world: DoorWorld, **fields: Any) -> str:
    body = {"case_number": number(), "matter_code": world.matter, "locality_code": LOCALITY, "title": "管線施工協調"}
    body.update(fields)
    answer = await world.client(INITIATOR).post("/v1/cases", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_id"])


async def launched(world: DoorWorld) -> str:
    """A case accepted by its coordinator: launched to the lead and the locality."""
    case_id = await launch(world)
    answer = await world.client(COORDINATOR).post(f"/v1/cases/{case_id}/accept", json={"role": "coordinator"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stage"] == "launched"
    return case_id


async def audit(world: DoorWorld, case_id: str, *actions: str) -> dict[str, AuditRecord]:
    """The case's audit rows by action, once those named are written (the workflow records them after answering)."""

    async def read() -> dict[str, AuditRecord]:
        async with world.sessions() as session:
            rows = (await session.scalars(select(AuditRecord).where(AuditRecord.subject_id == case_id))).all()
        return {row.action: row for row in rows}

    return await eventually(read, lambda rows: all(action in rows for action in actions))


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    return body


async def test_launch_is_idempotent_by_case_number(door_world: DoorWorld) -> None:
    body = {"case_number": number(), "matter_code": door_world.matter, "locality_code": LOCALITY, "title": "積水"}
    first = await door_world.client(INITIATOR).post("/v1/cases", json=body)
    again = await door_world.client(INITIATOR).post("/v1/cases", json=body)
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (again.status_code, again.json()) == (200, {"case_id": first.json()["case_id"], "created": False})
    view = (await door_world.client(COORDINATOR).get(f"/v1/cases/{first.json()['case_id']}")).json()
    assert (view["system"], view["coordinator"]) == (INITIATOR, COORDINATOR)


async def test_a_non_initiator_cannot_launch(door_world: DoorWorld) -> None:
    body = {"case_number": number(), "matter_code": door_world.matter, "locality_code": LOCALITY, "title": "x"}
    refused = problem(await door_world.client(LEAD).post("/v1/cases", json=body), 403)
    assert (refused["rule"], refused["field"]) == ("launch.initiator", "matter_code")
    case_id = case_id_of(LEAD, body["case_number"])
    problem(await door_world.client("operator").get(f"/v1/cases/{case_id}"), 404)  # nothing was started


async def test_a_launch_cannot_name_its_coordinator_or_its_policy(door_world: DoorWorld) -> None:
    base = {"case_number": number(), "matter_code": door_world.matter, "locality_code": LOCALITY, "title": "x"}
    for named in ("coordinator", "supervisors", "system"):
        value: Any = [OUTSIDER] if named == "supervisors" else OUTSIDER
        refused = problem(await door_world.client(INITIATOR).post("/v1/cases", json={**base, named: value}), 422)
        assert refused["field"] == named
        assert refused["errors"][0]["pointer"] == f"#/{named}"
    refused = problem(await door_world.client(INITIATOR).post("/v1/cases", json={**base, "policy": {}}), 403)
    assert (refused["rule"], refused["field"]) == ("launch.policy", "policy")


async def test_a_locality_cannot_sign_as_the_lead(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    before = (await door_world.client(LOCALITY).get(f"/v1/cases/{case_id}")).json()
    refused = problem(await door_world.client(LOCALITY).post(f"/v1/cases/{case_id}/sign", json={"role": "lead"}), 403)
    assert refused["field"] == "role"
    after = (await door_world.client(LOCALITY).get(f"/v1/cases/{case_id}")).json()
    assert after["seq"] == before["seq"]
    assert [a["status"] for a in after["assignments"]] == [a["status"] for a in before["assignments"]]
    assert "signed" not in await audit(door_world, case_id, "accepted")
    # Naming the lead's department does not help: the department is the credential's.
    refused = problem(
        await door_world.client(LOCALITY).post(
            f"/v1/cases/{case_id}/sign", json={"role": "lead", "actor_department": LEAD}
        ),
        403,
    )
    assert (refused["rule"], refused["field"]) == ("actor.department", "actor_department")
    signed = await door_world.client(LOCALITY).post(f"/v1/cases/{case_id}/sign", json={"role": "locality"})
    assert signed.status_code == 200, signed.text


async def test_another_department_cannot_order_or_comment_as_coordinator(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    order = {"role": "supervisor", "department": LEAD, "content": "限期辦結", "reason": "督辦"}
    # The market regulator has no part in the case: it does not exist for it.
    problem(await door_world.client(OUTSIDER).post(f"/v1/cases/{case_id}/issue-supervision-order", json=order), 404)
    comment = {"role": "coordinator", "text": "已協調"}
    problem(await door_world.client(OUTSIDER).post(f"/v1/cases/{case_id}/comment", json=comment), 404)
    # The lead is a party, but neither a supervisor nor the coordinator.
    refused = problem(
        await door_world.client(LEAD).post(f"/v1/cases/{case_id}/issue-supervision-order", json=order), 403
    )
    assert refused["field"] == "role"
    problem(await door_world.client(LEAD).post(f"/v1/cases/{case_id}/comment", json=comment), 403)
    # The supervision office and the coordinator may.
    issued = await door_world.client(SUPERVISOR).post(f"/v1/cases/{case_id}/issue-supervision-order", json=order)
    assert issued.status_code == 200, issued.text
    commented = await door_world.client(COORDINATOR).post(f"/v1/cases/{case_id}/comment", json=comment)
    assert commented.status_code == 200, commented.text
    by_action = await audit(door_world, case_id, "accepted", "commented")
    assert by_action["accepted"].credential_id == f"key:{door_world.key_ids[COORDINATOR]}"
    assert (by_action["commented"].actor_id, by_action["commented"].credential_id) == (
        COORDINATOR,
        f"key:{door_world.key_ids[COORDINATOR]}",
    )


async def test_an_outsider_cannot_see_list_count_or_command_a_case(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    outsider = door_world.client(OUTSIDER)
    problem(await outsider.get(f"/v1/cases/{case_id}"), 404)
    problem(await outsider.get(f"/v1/cases/{case_id}/timeline"), 404)
    problem(await outsider.post(f"/v1/cases/{case_id}/comment", json={"role": "lead", "text": "x"}), 404)
    listed = await eventually(
        lambda: door_world.client(LEAD).get("/v1/cases", params={"matter": door_world.matter, "limit": 1000}),
        lambda answer: case_id in {item["case_id"] for item in answer.json()["items"]},
    )
    assert case_id in {item["case_id"] for item in listed.json()["items"]}
    mine = await outsider.get("/v1/cases", params={"matter": door_world.matter})
    assert mine.status_code == 200
    assert case_id not in {item["case_id"] for item in mine.json()["items"]}
    counted = await outsider.get("/v1/cases/count", params={"matter": door_world.matter})
    assert counted.json() == {"count": 0}
    everyone = await door_world.client("operator").get("/v1/cases/count", params={"matter": door_world.matter})
    assert everyone.json()["count"] >= 1


async def test_role_system_is_never_accepted(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    refused = problem(
        await door_world.client(COORDINATOR).post(f"/v1/cases/{case_id}/comment", json={"role": "system", "text": "x"}),
        422,
    )
    assert refused["field"] == "role"


async def test_an_operator_acts_for_a_department_only_with_a_reason(door_world: DoorWorld) -> None:
    case_id = await launched(door_world)
    operator = door_world.client("operator")
    refused = problem(
        await operator.post(
            f"/v1/cases/{case_id}/comment", json={"role": "coordinator", "text": "x", "on_behalf_of": COORDINATOR}
        ),
        422,
    )
    assert refused["field"] == "on_behalf_reason"
    done = await operator.post(
        f"/v1/cases/{case_id}/comment",
        json={"role": "coordinator", "text": "代為登記", "on_behalf_of": COORDINATOR, "on_behalf_reason": "系統故障"},
    )
    assert done.status_code == 200, done.text
    row = (await audit(door_world, case_id, "commented"))["commented"]
    assert (row.actor_id, row.credential_id, row.on_behalf_reason) == (
        COORDINATOR,
        f"key:{door_world.key_ids['operator']}",
        "系統故障",
    )
    # A department credential may not claim to act on another's behalf.
    refused = problem(
        await door_world.client(BYSTANDER).post(
            f"/v1/cases/{case_id}/comment",
            json={"role": "coordinator", "text": "x", "on_behalf_of": COORDINATOR, "on_behalf_reason": "r"},
        ),
        403,
    )
    assert refused["field"] == "on_behalf_of"
