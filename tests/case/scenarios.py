"""Representative cases, played through a driver: the lifecycle tests check them, and the replay test replays
the histories they leave (recorded by tests/case/test_replay.py with CASELOOP_RECORD_HISTORIES=1)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import WorkflowUpdateFailedError

from activities.store.intake import IntakeChannel, IntakeRepository
from schemas.case import commands as c
from schemas.case.stages import CommitmentDecision, ReturnRuling, ReviewVerdict, Role
from schemas.case.views import CaseView
from schemas.clock import ClockUnit, RungKind
from schemas.intake import CaseChannel
from schemas.ledger import RatingLevel
from schemas.registry import Limit
from services.registry.importer import import_registry
from tests.case.driver import CaseHandle, Driver, coordinator, describe, lead, locality, requester, send, supervisor
from tests.case.parties import CO_UNIT, LEAD, OTHER
from tests.gateway.receiver import Answer, Receiver
from workers.settings import get_settings
from workflows.case.workflow import CaseWorkflow

REGISTRY = Path(__file__).with_name("registry.yaml")


def wd(amount: int) -> Limit:
    return Limit(amount=Decimal(amount), unit=ClockUnit.WORKING_DAYS)


async def in_progress(driver: Driver, **changes: object) -> CaseHandle:
    """Registered, accepted, signed by both parties, committed to 15 working days from receipt."""
    handle = await driver.start(**changes)
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await handle.execute_update(CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(15), plan="fix it"))
    await handle.execute_update(CaseWorkflow.cosign_commitment, c.CosignCommitment(actor=locality))
    await handle.execute_update(
        CaseWorkflow.decide_commitment, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT)
    )
    return handle


async def close(handle: CaseHandle, rating: RatingLevel = RatingLevel.VERY_SATISFIED) -> None:
    """From work to write-off: report, co-sign, review, rating, write-off."""
    await submit_for_review(handle)
    await handle.execute_update(
        CaseWorkflow.review, c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.PASS)
    )
    await handle.execute_update(CaseWorkflow.rate_follow_up, c.RateFollowUp(actor=requester, rating=rating))
    if not rating.is_bad:
        await handle.execute_update(CaseWorkflow.write_off, c.WriteOff(actor=coordinator))


async def submit_for_review(handle: CaseHandle) -> None:
    report = c.SubmitClosingReport(actor=lead, result="permit issued", evidence=["permit-17"], requester_confirmed=True)
    await handle.execute_update(CaseWorkflow.submit_closing_report, report)
    await handle.execute_update(CaseWorkflow.cosign_closing_report, c.CosignClosingReport(actor=locality))


async def terminate(handle: CaseHandle) -> None:
    await send(handle, CaseWorkflow.terminate, c.TerminateCase(actor=coordinator, reason="the scenario ends here"))
    await handle.result()


async def happy_path(driver: Driver) -> CaseHandle:
    handle = await in_progress(driver)
    await handle.execute_update(CaseWorkflow.report_progress, c.ReportProgress(actor=lead, summary="halfway"))
    await close(handle)
    await handle.result()  # the reopen window passes
    return handle


async def return_and_reroute(driver: Driver) -> CaseHandle:
    handle = await driver.start(co_units=[{"department": CO_UNIT, "mandatory": False}])
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(
        CaseWorkflow.request_return,
        c.RequestReturn(actor=lead, reason="fire review is not ours", legal_basis="city fire regulation art. 12"),
    )
    await handle.execute_update(
        CaseWorkflow.rule_on_return,
        c.RuleOnReturn(
            actor=coordinator,
            department=LEAD,
            ruling=ReturnRuling.REROUTE,
            to_department=OTHER,
            reason="the water bureau runs the fire water review",
        ),
    )
    await handle.execute_update(
        CaseWorkflow.request_return,
        c.RequestReturn(actor=locality, reason="the site is city land", legal_basis="district duties list"),
    )
    await handle.execute_update(
        CaseWorkflow.rule_on_return,
        c.RuleOnReturn(
            actor=coordinator, department=locality.department, ruling=ReturnRuling.UPHOLD, reason="the site is yours"
        ),
    )
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=c.Actor(department=OTHER, role=Role.LEAD)))
    await terminate(handle)
    return handle


async def extension(driver: Driver) -> CaseHandle:
    handle = await in_progress(driver)
    await handle.execute_update(
        CaseWorkflow.request_extension, c.RequestExtension(actor=lead, amount=5, reason="the expert report is late")
    )
    await handle.execute_update(
        CaseWorkflow.decide_extension, c.DecideExtension(actor=coordinator, approve=True, amount=3)
    )
    await terminate(handle)
    return handle


async def suspension(driver: Driver) -> CaseHandle:
    handle = await in_progress(driver)
    await handle.execute_update(
        CaseWorkflow.suspend, c.SuspendCase(actor=coordinator, reason="waiting for the court hearing")
    )
    await driver.env.sleep(timedelta(days=7))
    await handle.execute_update(CaseWorkflow.resume, c.ResumeCase(actor=coordinator, reason="hearing held"))
    await terminate(handle)
    return handle


async def supervision(driver: Driver) -> CaseHandle:
    handle = await in_progress(driver)
    issued = await handle.execute_update(
        CaseWorkflow.issue_supervision_order,
        c.IssueSupervisionOrder(
            actor=supervisor, department=LEAD, content="Report weekly until done.", reason="the mayor asked"
        ),
    )
    assert issued.subject_id is not None
    order = issued.subject_id
    await handle.execute_update(
        CaseWorkflow.receive_supervision_order, c.ReceiveSupervisionOrder(actor=lead, order_id=order)
    )
    await handle.execute_update(
        CaseWorkflow.report_progress, c.ReportProgress(actor=lead, summary="week one", percent_done=40)
    )
    await handle.execute_update(
        CaseWorkflow.answer_supervision_order,
        c.AnswerSupervisionOrder(actor=lead, order_id=order, answer="the review is booked for Monday"),
    )
    await handle.execute_update(
        CaseWorkflow.lift_supervision_order, c.LiftSupervisionOrder(actor=supervisor, order_id=order)
    )
    await handle.execute_update(CaseWorkflow.comment, c.CommentOnCase(actor=supervisor, text="thank you"))
    await terminate(handle)
    return handle


async def redo(driver: Driver) -> CaseHandle:
    handle = await in_progress(driver)
    await submit_for_review(handle)
    await handle.execute_update(
        CaseWorkflow.review,
        c.ReviewClosingReport(
            actor=coordinator, verdict=ReviewVerdict.REDO, reason="no evidence of the permit", redo_limit=wd(5)
        ),
    )
    await close(handle, RatingLevel.DISSATISFIED)  # a bad rating sends it back once more
    await close(handle)
    await handle.result()
    return handle


async def reopen(driver: Driver) -> CaseHandle:
    handle = await in_progress(driver)
    await close(handle)
    await handle.execute_update(CaseWorkflow.reopen, c.ReopenCase(actor=requester, reason="the leak is back"))
    await terminate(handle)
    return handle


async def continued(driver: Driver) -> CaseHandle:
    """A case whose history is capped at 50 events: it continues as new, carrying its command ids. The first run,
    the one that continues as new, is the history to replay."""
    handle = await driver.start(policy={"max_history_events": 50})
    first_run = (await describe(handle)).workflow_execution_info.execution.run_id
    await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="continued-accept")
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await send(handle, CaseWorkflow.comment, c.CommentOnCase(actor=supervisor, text="on site tomorrow"))
    await driver.settle()
    await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="continued-accept")
    await terminate(handle)
    return driver.env.client.get_workflow_handle_for(CaseWorkflow.run, handle.id, run_id=first_run)


async def clock_refusal(driver: Driver) -> CaseHandle:
    """The registry gives the commitment step a limit the legal clock refuses: the last signature is rejected."""
    handle = await driver.start(matter_code="M-ABSURD")
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    try:
        await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    except WorkflowUpdateFailedError:
        pass  # rule clock.refused
    else:
        raise AssertionError("the legal clock counted fifty years of working days")
    await terminate(handle)
    return handle


@contextmanager
def webhooks_on_loopback() -> Iterator[None]:
    """The worker may post to 127.0.0.1, with the secret case-test: what a receiver in a scenario needs."""
    wanted = {"CASELOOP_WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "CASELOOP_SECRET_CASE_TEST": "case-test-secret"}
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


async def handed_over(driver: Driver) -> CaseHandle:
    """The water bureau's system stays down: after the policy's attempts the reroute's push goes to its inbox."""
    receiver = Receiver([Answer(503, "down for maintenance")])
    registry = REGISTRY.read_text(encoding="utf-8").replace(
        "    name: 宿遷市水利局\n",
        f"    name: 宿遷市水利局\n    webhook_url: {receiver.url}\n    secret_ref: case-test\n",
    )
    with receiver.running(), webhooks_on_loopback(), tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "registry.yaml"
        path.write_text(registry, encoding="utf-8")
        try:
            await import_registry(driver.sessions, [path])
            handle = await driver.start(policy={"push_attempts": 2})
            await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
            reroute = c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=OTHER, reason="water")
            await handle.execute_update(CaseWorkflow.reroute, reroute)
            await terminate(handle)  # completes once the push has had its attempts
        finally:
            await import_registry(driver.sessions, [REGISTRY])  # the water bureau back in its inbox
    return handle


async def _leaders_rungs(driver: Driver, section: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        rungs = Path(directory) / "leaders.yaml"
        rungs.write_text(f"leaders_rungs: {section}\n", encoding="utf-8")
        await import_registry(driver.sessions, [rungs])


async def appeal_and_leaders(driver: Driver) -> CaseHandle:
    """A yellow card revoked on appeal; the committed deadline missed past the admonitory talk, after which the
    matter's leaders' rung, five working days later, reports the case to the city leaders' joint meeting, whose
    outcome the coordinator records."""
    await _leaders_rungs(driver, "[{matter: M-PERMIT}]")
    handle = await driver.start()
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await driver.sleep_until(_rung_at(await driver.view(handle), "sign:a1", RungKind.RED))
    [card] = (await driver.view(handle)).cards
    assert card.card_id is not None
    appeal = c.RevokeCard(actor=coordinator, card_id=card.card_id, reason="dispatched to the wrong desk")
    await handle.execute_update(CaseWorkflow.revoke_card, appeal)
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(5), plan="fix it"))
    await handle.execute_update(CaseWorkflow.cosign_commitment, c.CosignCommitment(actor=locality))
    await handle.execute_update(
        CaseWorkflow.decide_commitment, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT)
    )
    await driver.sleep_until(_rung_at(await driver.view(handle), "deadline", RungKind.ADMONITORY_TALK))
    await driver.sleep_until(_rung_at(await driver.view(handle), "leaders_rung:deadline", RungKind.RED))
    outcome = c.RecordMeetingOutcome(actor=coordinator, meeting_id="m1", outcome="the bureau closes it this week")
    await handle.execute_update(CaseWorkflow.record_meeting_outcome, outcome)
    await _leaders_rungs(driver, "[]")
    await terminate(handle)
    return handle


def _rung_at(view: CaseView, clock: str, kind: RungKind) -> datetime:
    [watched] = [watched for watched in view.clocks if watched.key == clock]
    [armed] = [armed for armed in watched.rungs if armed.kind is kind]
    return armed.at


async def from_a_channel(driver: Driver) -> CaseHandle:
    """A case taken in from an intake channel: its requester is texted at launch, commitment, progress, the rating
    request and closing (`workflows.case.requester`); the work order's own deadline passes while the case works, so
    the lead department is warned, then carded (`workflows.case.channel_deadline`)."""
    deadline = await driver.now() + timedelta(hours=4)
    channel = CaseChannel(code="T12345", reference="WO-1", pushes=False, requester=True, deadline=deadline)
    registration = driver.registration(channel=channel)
    now = datetime.now(UTC)
    async with driver.sessions.begin() as session:
        session.add(
            IntakeChannel(
                code="T12345",
                name="test hotline",
                kind="hotline",
                department_code="SQ-CENTRE",  # the registry of these tests has no department "hotline"
                pushes=True,
                categories={},
                localities={},
                address_localities={},
                unplaced_matter=registration.matter_code,
                unplaced_locality=registration.locality_code,
                active=True,
                updated_at=now,
            )
        )
        await session.flush()
        IntakeRepository(session).add_record(
            channel_code="T12345",
            record_number="WO-1",
            case_id=registration.case_id,
            matter_code=registration.matter_code,
            locality_code=registration.locality_code,
            placed=True,
            contact_kind="mobile",
            contact="13900000000",
            verification_code="ABCDEFGH",
            received_at=now,
            created_at=now,
        )
    handle = await in_progress(driver, channel=channel)
    await driver.sleep_until(deadline)
    await driver.settle()
    await handle.execute_update(CaseWorkflow.report_progress, c.ReportProgress(actor=lead, summary="halfway"))
    await close(handle)
    await handle.result()
    return handle


SCENARIOS = {
    "happy_path": happy_path,
    "return_and_reroute": return_and_reroute,
    "extension": extension,
    "suspension": suspension,
    "supervision": supervision,
    "redo": redo,
    "reopen": reopen,
    "continued": continued,
    "clock_refusal": clock_refusal,
    "handed_over": handed_over,
    "appeal_and_leaders": appeal_and_leaders,
    "from_a_channel": from_a_channel,
}
