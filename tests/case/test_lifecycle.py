"""Cases through the production worker on the time-skipping server, with the real activities and store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.worker import Worker

from activities.clock.activities import ClockActivities
from activities.store.ledger.supervision import SupervisionOrderRepository
from schemas import search_attributes as sa
from schemas.case.stages import AssignmentStatus, CaseStage, SupervisionLevel
from schemas.clock import ClockSpec, ClockUnit, Pause
from schemas.ledger import SupervisionOrderStatus
from tests.case import scenarios
from tests.case.driver import Driver, describe, search_attributes
from tests.case.parties import CO_UNIT, COORDINATOR, LEAD, LOCALITY, OTHER


async def due(sessions: async_sessionmaker[AsyncSession], started_at: datetime, days: int, *pauses: Pause) -> datetime:
    """The legal clock's own answer, to compare the case's deadlines with."""
    spec = ClockSpec(started_at=started_at, limit=days, unit=ClockUnit.WORKING_DAYS, locality=LOCALITY, pauses=pauses)
    return (await ClockActivities(sessions).compute_deadline(spec)).due_at


async def test_happy_path_from_registration_to_write_off(case_worker: Worker, driver: Driver) -> None:
    first = await driver.start()
    again = await driver.start()  # the same case number: the same case
    runs = [(await describe(handle)).workflow_execution_info.execution.run_id for handle in (first, again)]
    assert runs[0] == runs[1]
    handle = await scenarios.happy_path(driver)
    assert handle.id == first.id

    final = await handle.result()
    assert final.stage is CaseStage.CLOSED and final.seq == 15 and final.clocks == []
    finished = await driver.start()  # a finished case keeps its number: no second case
    run = (await describe(finished)).workflow_execution_info
    assert run.execution.run_id == runs[0] and run.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert final.committed_due_at == await due(driver.sessions, final.registered_at, 15)
    assert final.closing is not None and final.closing.on_time
    audit = await driver.audit(handle.id)
    timeline = await driver.timeline(handle)
    assert [(e.seq, e.action, e.to_stage) for e in audit] == [
        (e.seq, e.action, e.to_stage.value if e.to_stage else None) for e in timeline.entries
    ]
    assert [e.action for e in audit] == [
        "registered",
        "accepted",
        "launched",
        "signed",
        "signed",
        "all_signed",
        "commitment_filed",
        "commitment_cosigned",
        "commitment_accepted",
        "progress_reported",
        "closing_report_submitted",
        "closing_report_cosigned",
        "review_passed",
        "rated",
        "written_off",
    ]
    assert [(e.actor, e.actor_id) for e in audit[1:3]] == [("coordinator", COORDINATOR), ("system", "caseloop")]
    assert await driver.cards(handle.id) == []
    assert await driver.scores(handle.id) == [(LEAD, "on_time_close")]
    assert await driver.pushes(handle.id) == [
        (LEAD, "case_assignment"),
        (LOCALITY, "case_assignment"),
        (COORDINATOR, "closure_review"),
    ]
    attributes = await search_attributes(handle)
    assert {name: attributes[key.name] for name, key in (("stage", sa.STAGE), ("kind", sa.KIND))} == {
        "stage": "closed",
        "kind": "case",
    }
    assert attributes[sa.LEAD_DEPARTMENT.name] == LEAD and attributes[sa.NEXT_DUE_AT.name] is None


async def test_the_ui_shows_codes_never_the_title(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.in_progress(driver, title="王小明家的漏水 13812345678")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = metadata.current_details
    summary, stage = details.split("\n")[:2]
    assert summary == f"**case {handle.id.split('~')[1]} from hotline · matter M-PERMIT · locality SQ-SUYU · normal**"
    assert stage.startswith("**Stage** in_progress · **card** none · **SLA** ")
    assert "| deadline | SQ-HOUSING |" in details and "skipped " in details
    assert f"**lead** {LEAD}" in details and "| lead | SQ-HOUSING | signed |" in details
    assert "王小明" not in details and "138" not in details
    assert metadata.definition.type == "Case" and "decide_commitment" in {
        u.name for u in metadata.definition.update_definitions
    }
    await scenarios.terminate(handle)


async def test_return_reroute_and_an_upheld_return(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.return_and_reroute(driver)
    final = await handle.result()
    assert [(a.department, a.party.value, a.status) for a in final.assignments] == [
        (LEAD, "lead", AssignmentStatus.REROUTED),
        (LOCALITY, "locality", AssignmentStatus.SIGNED),
        (CO_UNIT, "co_unit", AssignmentStatus.PENDING_SIGN),
        (OTHER, "lead", AssignmentStatus.SIGNED),
    ]
    assert final.stage is CaseStage.TERMINATED and final.lead_department == OTHER
    assert [e.action for e in await driver.audit(handle.id)][3:] == [
        "return_requested",
        "return_granted",
        "return_requested",
        "return_rejected",
        "card_yellow",
        "force_signed",
        "signed",
        "all_signed",
        "terminated",
    ]
    assert await driver.cards(handle.id) == [(LOCALITY, "yellow", "improper_return", None)]
    assert await driver.pushes(handle.id) == [
        (LEAD, "case_assignment"),
        (LOCALITY, "case_assignment"),
        (CO_UNIT, "case_assignment"),
        (OTHER, "case_assignment"),
        (LOCALITY, "card"),
    ]


async def test_an_approved_extension_moves_the_committed_deadline(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.extension(driver)
    final = await handle.result()
    assert [(e.amount, e.approved, e.granted) for e in final.extensions] == [(5, True, 3)]
    assert final.committed_due_at == await due(driver.sessions, final.registered_at, 18)
    actions = [e.action for e in await driver.audit(handle.id)]
    assert actions[-3:] == ["extension_requested", "extension_approved", "terminated"]


async def test_a_suspension_moves_the_deadline_by_the_paused_working_time(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.suspension(driver)
    final = await handle.result()
    timeline = (await driver.timeline(handle)).entries
    suspended = next(e.at for e in timeline if e.action == "suspended")
    resumed = next(e.at for e in timeline if e.action == "resumed")
    pause = Pause(started_at=suspended, ended_at=resumed)
    assert final.committed_due_at == await due(driver.sessions, final.registered_at, 15, pause)
    assert final.committed_due_at is not None
    assert final.committed_due_at > await due(driver.sessions, final.registered_at, 15)
    assert [(e.action, e.to_stage) for e in timeline[-3:]] == [
        ("suspended", CaseStage.SUSPENDED),
        ("resumed", CaseStage.IN_PROGRESS),
        ("terminated", CaseStage.TERMINATED),
    ]


async def test_a_supervision_order_is_issued_received_answered_and_lifted(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.supervision(driver)
    final = await handle.result()
    assert final.supervision_level is SupervisionLevel.SUPERVISION_ORDER
    assert [(o.order_id, o.department, o.status) for o in final.orders] == [("o1", LEAD, SupervisionOrderStatus.LIFTED)]
    order_id = f"{handle.id}.o1"
    async with driver.sessions() as session:
        stored = await SupervisionOrderRepository(session).get(order_id)
        assert stored is not None and stored.status == "lifted" and stored.department_code == LEAD
    assert [(e.seq, e.action) for e in await driver.audit(order_id)] == [
        (1, "issued"),
        (2, "received"),
        (3, "answered"),
        (4, "lifted"),
    ]
    assert [e.action for e in await driver.audit(handle.id)][9:] == [
        "order_issued",
        "order_received",
        "progress_reported",
        "order_answered",
        "order_lifted",
        "commented",
        "terminated",
    ]
    assert (await search_attributes(handle))[sa.SUPERVISION_LEVEL.name] == "supervision_order"


async def test_redo_after_review_and_after_a_bad_rating(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.redo(driver)
    final = await handle.result()
    assert final.stage is CaseStage.CLOSED and final.redo_count == 2
    # A bad rating and the redo it causes happen at one instant: compared without their order.
    assert sorted(await driver.scores(handle.id)) == [
        (LEAD, "bad_rating"),
        (LEAD, "on_time_close"),
        (LEAD, "redo"),
        (LEAD, "redo"),
    ]
    redone = [e for e in await driver.audit(handle.id) if e.action == "redo_ordered"]
    assert [(e.actor, e.to_stage) for e in redone] == [("coordinator", "in_progress"), ("system", "in_progress")]


async def test_reopen_rebaselines_a_closed_case(case_worker: Worker, driver: Driver) -> None:
    handle = await scenarios.reopen(driver)
    final = await handle.result()
    assert final.reopen_count == 1 and final.stage is CaseStage.TERMINATED
    timeline = (await driver.timeline(handle)).entries
    assert [(e.action, e.to_stage) for e in timeline[-4:]] == [
        ("written_off", CaseStage.CLOSED),
        ("reopened", CaseStage.REOPENED),
        ("rebaselined", CaseStage.IN_PROGRESS),
        ("terminated", CaseStage.TERMINATED),
    ]
    reopened_at = timeline[-3].at
    assert final.committed_due_at == await due(driver.sessions, reopened_at, 15)
