"""Case IDs through the front door: one case per system and case number, cases launched under the old ID form
still found, a second registration under a taken number refused, and the receipt bounded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from caseloop.direct import CaseClient
from schemas.case.commands import Actor
from schemas.case.stages import Role
from schemas.case.state import (
    CASE_NUMBER_TAKEN,
    RECEIPT_IN_FUTURE,
    RECEIPT_OUTSIDE_WINDOW,
    CaseRegistration,
    CaseWorkflowInput,
    case_id_of,
    legacy_case_id_of,
)
from services.registry.importer import import_registry
from tests.door.conftest import COORDINATOR, INITIATOR, LEAD, LOCALITY, SUPERVISOR, DoorWorld
from tests.door.test_cases import problem
from workers.door.credentials import issue_credential
from workflows.case.workflow import CaseWorkflow

# A second initiating system whose code is the first one's and a hyphen more: under the old `case-<system>-<number>`
# its number 1 and SQ-FGW's number XM-1 were one ID.
PROJECT_OFFICE = f"{INITIATOR}-XM"


@pytest.fixture(scope="module")
async def matter(door_world: DoorWorld, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A case matter both systems launch, with the project office in the registry and holding a key."""
    code = f"T-{uuid.uuid4().hex[:12]}"
    file = tmp_path_factory.mktemp("registry") / f"{code}.yaml"
    file.write_text(
        "departments:\n"
        f"  - code: {PROJECT_OFFICE}\n"
        "    name: 宿遷市發展和改革委員會重大項目辦公室(測試)\n"
        "    level: city\n"
        f"    parent: {INITIATOR}\n"
        "matters:\n"
        f"  - code: {code}\n"
        "    name: 項目尾水管線施工協調(測試)\n"
        "    kind: case\n"
        "    trigger: issue_raised\n"
        f"    initiators: [{INITIATOR}, {PROJECT_OFFICE}]\n"
        f"    lead: {LEAD}\n"
        "    card_profile: default\n"
        "    statutory_limit: 20 working-days\n",
        encoding="utf-8",
    )
    await import_registry(door_world.sessions, [file])
    issued = await issue_credential(door_world.sessions, door_world.settings, PROJECT_OFFICE, created_by="tests")
    door_world.keys[PROJECT_OFFICE] = issued.api_key
    return code


@pytest.fixture(scope="module")
async def engine(door_world: DoorWorld) -> AsyncIterator[CaseClient]:
    """The engine the door runs on, to start cases as an earlier release did."""
    async with await CaseClient.connect(door_world.settings, within=30) as client:
        yield client


def body(matter: str, case_number: str, **changes: Any) -> dict[str, Any]:
    return {
        "case_number": case_number,
        "matter_code": matter,
        "locality_code": LOCALITY,
        "title": "管線施工協調",
    } | changes


async def launch(world: DoorWorld, who: str, fields: dict[str, Any], status: int = 201) -> dict[str, Any]:
    answer = await world.client(who).post("/v1/cases", json=fields)
    assert answer.status_code == status, answer.text
    launched: dict[str, Any] = answer.json()
    return launched


async def launched_before(engine: CaseClient, world: DoorWorld, matter: str, case_number: str) -> str:
    """A case started as releases before the `~` started them: under `case-<system>-<number>`."""
    registration = CaseRegistration(
        system=INITIATOR,
        case_number=case_number,
        matter_code=matter,
        locality_code=LOCALITY,
        title="管線施工協調",
        coordinator=COORDINATOR,
        supervisors=[SUPERVISOR],
        launched_by=Actor(department=INITIATOR, role=Role.INITIATOR),
    )
    case_id = legacy_case_id_of(INITIATOR, case_number)
    await engine.temporal.start_workflow(
        CaseWorkflow.run,
        CaseWorkflowInput(registration=registration),
        id=case_id,
        task_queue=world.settings.task_queue,
    )
    return case_id


def number() -> str:
    return uuid.uuid4().hex[:10]


async def test_two_systems_whose_old_ids_collide_get_a_case_each(door_world: DoorWorld, matter: str) -> None:
    suffix = number()
    first = await launch(door_world, INITIATOR, body(matter, f"XM-{suffix}"))
    second = await launch(door_world, PROJECT_OFFICE, body(matter, suffix))
    assert first["created"] and second["created"], "the second system was answered the first one's case"
    assert (first["case_id"], second["case_id"]) == (
        case_id_of(INITIATOR, f"XM-{suffix}"),
        case_id_of(PROJECT_OFFICE, suffix),
    )
    assert first["case_id"] != second["case_id"]
    for who, launched, case_number in ((INITIATOR, first, f"XM-{suffix}"), (PROJECT_OFFICE, second, suffix)):
        view = (await door_world.client(who).get(f"/v1/cases/{launched['case_id']}")).json()
        assert (view["system"], view["case_number"]) == (who, case_number)


async def test_a_second_registration_under_a_taken_number_is_refused(door_world: DoorWorld, matter: str) -> None:
    case_number = number()
    first = await launch(door_world, INITIATOR, body(matter, case_number))
    again = await launch(door_world, INITIATOR, body(matter, case_number), status=200)
    assert again == {"case_id": first["case_id"], "created": False}
    for changed in ({"title": "另一個問題"}, {"locality_code": "SQ-SHY"}):
        answer = await door_world.client(INITIATOR).post("/v1/cases", json=body(matter, case_number, **changed))
        refused = problem(answer, 422)
        assert (refused["rule"], refused["field"]) == (CASE_NUMBER_TAKEN, "case_number")
        assert "另一個問題" not in refused["detail"], "a refusal never repeats the title"
    view = (await door_world.client(INITIATOR).get(f"/v1/cases/{first['case_id']}")).json()
    assert (view["locality"], view["seq"]) == (LOCALITY, 1)


async def test_a_case_launched_under_its_old_id_is_found_by_its_number(
    door_world: DoorWorld, matter: str, engine: CaseClient
) -> None:
    case_number = f"XM-{number()}"
    old_id = await launched_before(engine, door_world, matter, case_number)
    # Launching it again answers the old case; launching another registration under its number is refused.
    again = await launch(door_world, INITIATOR, body(matter, case_number), status=200)
    assert again == {"case_id": old_id, "created": False}
    answer = await door_world.client(INITIATOR).post("/v1/cases", json=body(matter, case_number, title="另一個"))
    assert problem(answer, 422)["rule"] == CASE_NUMBER_TAKEN
    # Today's ID, as the SDK's case(number) and the CLI build it, reads and commands the old case.
    new_id = case_id_of(INITIATOR, case_number)
    view = await door_world.client(INITIATOR).get(f"/v1/cases/{new_id}")
    assert view.status_code == 200, view.text
    assert (view.json()["case_id"], view.json()["case_number"]) == (old_id, case_number)
    accepted = await door_world.client(COORDINATOR).post(f"/v1/cases/{new_id}/accept", json={"role": "coordinator"})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["case_id"], accepted.json()["stage"]) == (old_id, "launched")
    timeline = (await door_world.client(INITIATOR).get(f"/v1/cases/{new_id}/timeline")).json()
    assert "accepted" in [entry["action"] for entry in timeline["entries"]]
    # It is still one case: nothing was started under today's ID.
    with pytest.raises(RPCError) as missing:
        await engine.temporal.get_workflow_handle(new_id).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND


async def test_an_old_id_of_another_system_is_not_taken_for_ones_own(
    door_world: DoorWorld, matter: str, engine: CaseClient
) -> None:
    suffix = number()
    old_id = await launched_before(engine, door_world, matter, f"XM-{suffix}")  # SQ-FGW's XM-…: case-SQ-FGW-XM-…
    assert old_id == legacy_case_id_of(PROJECT_OFFICE, suffix), "the two registrations shared the old ID"
    problem(await door_world.client("operator").get(f"/v1/cases/{case_id_of(PROJECT_OFFICE, suffix)}"), 404)
    own = await launch(door_world, PROJECT_OFFICE, body(matter, suffix))
    assert own == {"case_id": case_id_of(PROJECT_OFFICE, suffix), "created": True}
    view = (await door_world.client(PROJECT_OFFICE).get(f"/v1/cases/{own['case_id']}")).json()
    assert (view["system"], view["case_number"]) == (PROJECT_OFFICE, suffix)


async def test_the_receipt_is_bounded(door_world: DoorWorld, matter: str) -> None:
    now = datetime.now(UTC)
    for received, rule in (
        (datetime(1900, 1, 1, tzinfo=UTC), RECEIPT_OUTSIDE_WINDOW),
        (now + timedelta(days=1), RECEIPT_IN_FUTURE),
    ):
        fields = body(matter, number(), received_at=received.isoformat())
        refused = problem(await door_world.client(INITIATOR).post("/v1/cases", json=fields), 422)
        assert (refused["rule"], refused["field"]) == (rule, "received_at")
        missing = case_id_of(INITIATOR, fields["case_number"])
        problem(await door_world.client(INITIATOR).get(f"/v1/cases/{missing}"), 404)  # nothing was started
    recent = await launch(
        door_world, INITIATOR, body(matter, number(), received_at=(now - timedelta(days=20)).isoformat())
    )
    assert recent["created"]
    # An operator may widen the window for one case, e.g. one taken over from a paper register.
    older = body(
        matter,
        number(),
        received_at=(now - timedelta(days=800)).isoformat(),
        policy={"receipt_window_days": 1000},
        on_behalf_of=INITIATOR,
        on_behalf_reason="taken over from the paper register",
    )
    assert (await launch(door_world, "operator", older))["created"]
