"""A case that misses its signature, its commitment and its committed deadline climbs the whole ladder."""

from __future__ import annotations

from datetime import datetime

from temporalio.worker import Worker

from schemas import search_attributes as sa
from schemas.case import commands as c
from schemas.case.stages import CaseStage, CommitmentDecision, SupervisionLevel
from schemas.case.views import CaseView
from schemas.clock import RungKind
from tests.case.driver import Driver, coordinator, lead, locality, search_attributes, supervisor
from tests.case.parties import COORDINATOR, LEAD, LOCALITY
from tests.case.scenarios import wd
from workflows.case.workflow import CaseWorkflow


def rung(view: CaseView, clock: str, kind: RungKind) -> datetime:
    """When the running clock `clock` fires its rung `kind`."""
    [watched] = [watched for watched in view.clocks if watched.key == clock]
    [armed] = [armed for armed in watched.rungs if armed.kind is kind]
    return armed.at


async def test_breaches_of_sign_commit_and_deadline_climb_to_an_admonitory_talk(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start()
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))

    # The lead does not sign: a reminder, a yellow card at the deadline, a reminder notice the next working day,
    # and the escalation that lets the coordinator force-sign.
    await driver.sleep_until(rung(await driver.view(handle), "sign:a1", RungKind.REMINDER_NOTICE))
    view = await driver.view(handle)
    assert view.assignments[0].sign_escalated and view.supervision_level is SupervisionLevel.REMINDER_NOTICE
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=coordinator, department=LEAD))

    # The lead lets the commitment limit pass: its second yellow card on the case is red.
    view = await driver.view(handle)
    assert view.stage is CaseStage.AWAITING_COMMITMENT
    await driver.sleep_until(rung(view, "commit", RungKind.RED))
    await handle.execute_update(CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(10), plan="late plan"))
    await handle.execute_update(CaseWorkflow.cosign_commitment, c.CosignCommitment(actor=locality))
    await handle.execute_update(
        CaseWorkflow.decide_commitment, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT)
    )

    # The committed deadline passes: a red card, a reminder notice, then the ladder issues a supervision order.
    await driver.sleep_until(rung(await driver.view(handle), "deadline", RungKind.SUPERVISION_ORDER))
    view = await driver.view(handle)
    assert [(o.order_id, o.department, o.issued_by, o.status.value) for o in view.orders] == [
        ("o1", LEAD, None, "issued")
    ]
    await handle.execute_update(
        CaseWorkflow.receive_supervision_order, c.ReceiveSupervisionOrder(actor=lead, order_id="o1")
    )
    await handle.execute_update(
        CaseWorkflow.answer_supervision_order, c.AnswerSupervisionOrder(actor=lead, order_id="o1", answer="on it")
    )
    await handle.execute_update(
        CaseWorkflow.lift_supervision_order, c.LiftSupervisionOrder(actor=supervisor, order_id="o1")
    )
    await handle.execute_update(CaseWorkflow.report_progress, c.ReportProgress(actor=lead, summary="still going"))

    # Still not closed: a circular after five more working days, an admonitory talk after five more.
    await driver.sleep_until(rung(await driver.view(handle), "deadline", RungKind.ADMONITORY_TALK))
    view = await driver.view(handle)
    assert view.supervision_level is SupervisionLevel.ADMONITORY_TALK
    assert view.card_colour.value == "red" and view.stage is CaseStage.IN_PROGRESS
    attributes = await search_attributes(handle)
    assert (attributes[sa.CARD_COLOUR.name], attributes[sa.SUPERVISION_LEVEL.name]) == ("red", "admonitory_talk")

    await handle.execute_update(
        CaseWorkflow.terminate, c.TerminateCase(actor=coordinator, reason="merged into the city's project case")
    )
    await handle.result()
    audit = await driver.audit(handle.id)
    assert [(e.actor, e.action) for e in audit] == [
        ("system", "registered"),
        ("coordinator", "accepted"),
        ("system", "launched"),
        ("locality", "signed"),
        ("system", "reminder"),
        ("system", "card_yellow"),
        ("system", "reminder_notice"),
        ("system", "sign_escalated"),
        ("coordinator", "force_signed"),
        ("system", "all_signed"),
        ("system", "reminder"),
        ("system", "card_red"),
        ("lead", "commitment_filed"),
        ("locality", "commitment_cosigned"),
        ("coordinator", "commitment_accepted"),
        ("system", "reminder"),
        ("system", "card_red"),
        ("system", "reminder_notice"),
        ("system", "order_issued"),
        ("lead", "order_received"),
        ("lead", "order_answered"),
        ("supervisor", "order_lifted"),
        ("lead", "progress_reported"),
        ("system", "circular"),
        ("system", "admonitory_talk"),
        ("coordinator", "terminated"),
    ]
    card_reasons = [e.reason or "" for e in audit if e.action.startswith("card_")]
    assert [reason.split(", due ")[0] for reason in card_reasons] == [
        f"{LEAD}: sign overdue",
        f"{LEAD}: commit overdue",
        f"{LEAD}: deadline overdue",
    ]
    assert card_reasons[1].endswith("; second yellow card on this case")
    assert await driver.cards(handle.id) == [
        (LEAD, "yellow", "sign_overdue", "sign"),
        (LEAD, "red", "second_yellow", "commit"),
        (LEAD, "red", "deadline_overdue", "deadline"),
    ]
    assert await driver.scores(handle.id) == [
        (LEAD, "card_yellow"),
        (LEAD, "card_red"),
        (LEAD, "card_red"),
        (LEAD, "circular"),
        (LEAD, "admonitory_talk"),
    ]
    assert await driver.pushes(handle.id) == [
        (LEAD, "case_assignment"),
        (LOCALITY, "case_assignment"),
        (LEAD, "reminder"),
        (LEAD, "card"),
        (LEAD, "reminder"),
        (COORDINATOR, "reminder"),
        (LEAD, "reminder"),
        (LEAD, "card"),
        (LEAD, "reminder"),
        (LEAD, "card"),
        (LEAD, "reminder"),
        (LEAD, "supervision_order"),
        (LEAD, "circular"),
        (LEAD, "reminder"),
    ]
    assert [(e.seq, e.action) for e in await driver.audit(f"{handle.id}.o1")] == [
        (1, "issued"),
        (2, "received"),
        (3, "answered"),
        (4, "lifted"),
    ]
