"""A case through the worker on the time-skipping server, with the real activities and store."""

from __future__ import annotations

from decimal import Decimal

from temporalio.worker import Worker

from schemas import search_attributes as sa
from schemas.case import commands as c
from schemas.case.stages import CaseStage, CommitmentDecision, ReviewVerdict
from schemas.clock import ClockUnit
from schemas.ledger import RatingLevel
from schemas.registry import Limit
from tests.case.driver import Driver, coordinator, lead, locality, requester, search_attributes
from tests.case.parties import COORDINATOR, LEAD, LOCALITY
from workflows.case.workflow import CaseWorkflow


def wd(amount: int) -> Limit:
    return Limit(amount=Decimal(amount), unit=ClockUnit.WORKING_DAYS)


async def test_happy_path_from_registration_to_write_off(case_worker: Worker, driver: Driver) -> None:
    handle = await driver.start()
    again = await driver.start()
    assert again.id == handle.id and again.result_run_id == handle.result_run_id

    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await handle.execute_update(CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(15), plan="fix it"))
    await handle.execute_update(CaseWorkflow.cosign_commitment, c.CosignCommitment(actor=locality))
    result = await handle.execute_update(
        CaseWorkflow.decide_commitment, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT)
    )
    assert result.stage is CaseStage.IN_PROGRESS
    view = await driver.view(handle)
    assert view.committed_due_at is not None and view.next_due_at is not None
    await handle.execute_update(CaseWorkflow.report_progress, c.ReportProgress(actor=lead, summary="halfway"))
    await handle.execute_update(
        CaseWorkflow.submit_closing_report, c.SubmitClosingReport(actor=lead, result="permit issued")
    )
    await handle.execute_update(CaseWorkflow.cosign_closing_report, c.CosignClosingReport(actor=locality))
    await handle.execute_update(
        CaseWorkflow.review, c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.PASS)
    )
    await handle.execute_update(
        CaseWorkflow.rate_follow_up, c.RateFollowUp(actor=requester, rating=RatingLevel.VERY_SATISFIED)
    )
    closed = await handle.execute_update(CaseWorkflow.write_off, c.WriteOff(actor=coordinator))
    assert closed.stage is CaseStage.CLOSED

    attributes = await search_attributes(handle)
    assert attributes[sa.STAGE.name] == "closed"
    assert attributes[sa.LEAD_DEPARTMENT.name] == LEAD
    assert attributes[sa.NEXT_DUE_AT.name] is None

    final = await handle.result()  # completes once the reopen window has passed
    assert final.stage is CaseStage.CLOSED and final.seq == 15 and final.clocks == []
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
