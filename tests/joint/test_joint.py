"""The provident-fund withdrawal "one thing" on the time-skipping server: the marital status compared automatically
with civil affairs' system while housing confirms the purchase, then the amount and the settlement in sequence; a
step that passes its limit is carded to its department. And the cross-city vehicle transfer, one hour on the
office-hours clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.clock.activities import ClockActivities
from activities.joint.records import ApplicantActivities, JointActivities
from activities.ledger import LedgerActivities
from activities.notify.providers import SmsMessage
from activities.store.collaboration import CollaborationRepository, JointHandling
from activities.store.ledger.cards import Card
from activities.store.ledger.scores import ScoreEvent
from activities.verify.calls import VerificationActivities
from schemas.clock import ClockSpec, ClockUnit
from schemas.joint.run import CompleteStep, JointStart, JointStatus, JointView, StepStatus
from schemas.names import JOINT_COMPLETE_STEP, JOINT_VIEW
from services.clock.service import load_legal_clock
from services.registry.importer import import_registry
from tests.joint.answering import AnsweringSystem
from tests.joint.conftest import FUND, LOCAL, SECRET, SECRET_REF, point_item_at
from tests.joint.test_replay import record_history
from tests.support.department_world import sample_store
from tests.support.embedded_stack import free_ports
from tests.support.eventually import eventually
from workers.door.serve import serving
from workers.resources import Resources, open_resources
from workers.settings import Settings, get_settings
from workers.worker import workflow_runner
from workflows.joint.workflow import JointWorkflow, joint_workflow_id

HOUSING = "SQ-ZJJ"
TRAFFIC_POLICE = "SQ-GAJ-JJ"  # 交警支隊's vehicle administration: every step of the vehicle transfer
TAX_BUREAU = "SQ-SWJ"  # answers the vehicle purchase tax check
TAX_ITEM = "SW-CLGZS"
ID_NUMBER = "320000199001011234"
VIN = "LSVAU2180N2123456"
MOBILE = "13900001234"


class Texts:
    """The SMS provider, as the applicant's phone sees it."""

    name = "test"

    def __init__(self) -> None:
        self.sent: list[SmsMessage] = []

    async def send(self, message: SmsMessage) -> None:
        self.sent.append(message)


TEXTS = Texts()


@pytest.fixture
async def joint_env(
    ts_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[WorkflowEnvironment, str, Settings]]:
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    store = await sample_store(tmp_path)
    queue = f"joint-{uuid.uuid4()}"
    (port,) = free_ports(1)
    answering = AnsweringSystem(SECRET, {ID_NUMBER: {"married": False}, VIN: {"tax_paid": True}}, key=None)
    settings = Settings(data_dir=tmp_path, store_url=store, task_queue=queue)
    try:
        async with open_resources(settings) as resources:
            await point_item_at(resources.sessions, tmp_path, f"http://127.0.0.1:{port}/verify")
            await _point_tax_item_at(resources, tmp_path, f"http://127.0.0.1:{port}/verify")
            joint = JointActivities(resources.sessions)
            verification = VerificationActivities(
                resources.sessions, resources.http, {SECRET_REF: SECRET.encode()}.get, policy=LOCAL
            )
            activities = [
                joint.plan_joint,
                joint.record_joint,
                ClockActivities(resources.sessions).compute_deadline,
                ClockActivities(resources.sessions).schedule_rungs,
                LedgerActivities(resources.sessions).record_card,
                LedgerActivities(resources.sessions).record_score_event,
                LedgerActivities(resources.sessions).record_supervision_order,
                verification.verify,
                ApplicantActivities(resources.sessions, TEXTS).text_applicant,
            ]
            async with (
                serving(answering.app(), "127.0.0.1", port),
                Worker(
                    ts_env.client,
                    task_queue=queue,
                    workflows=[JointWorkflow],
                    activities=activities,
                    workflow_runner=workflow_runner(),
                ),
            ):
                yield ts_env, queue, settings
    finally:
        get_settings.cache_clear()


async def _point_tax_item_at(resources: Resources, directory: Path, url: str) -> None:
    """The sample's vehicle purchase tax item at the test's answering system, under the test's secret."""
    file = directory / "tax-item.yaml"
    file.write_text(
        "shared_items:\n"
        f"  - code: {TAX_ITEM}\n"
        "    name: 車輛購置稅完稅信息核驗\n"
        f"    department: {TAX_BUREAU}\n"
        "    system: 車輛購置稅管理系統\n"
        f"    endpoint_url: {url}\n"
        f"    secret_ref: {SECRET_REF}\n"
        "    timeout_seconds: 5\n"
        f"    grantees: [{TRAFFIC_POLICE}]\n",
        encoding="utf-8",
    )
    await import_registry(resources.sessions, [file])


@dataclass
class Application:
    """A joint application the test started, and its view as the workflow answers it."""

    joint_id: str
    handle: WorkflowHandle[JointWorkflow, JointView]

    async def view(self) -> JointView:
        found = await self.handle.query(JOINT_VIEW, result_type=JointView)
        return found or JointView.model_construct(steps=[], cards=[])

    async def until(self, ready: Callable[[JointView], bool], what: str) -> JointView:
        return await eventually(self.view, ready, what=what)

    async def complete(self, command_id: str, department: str, step: str) -> JointView:
        command = CompleteStep(command_id=command_id, department=department, step=step)
        return await self.handle.execute_update(JOINT_COMPLETE_STEP, command, result_type=JointView)

    async def stop(self) -> None:
        if (await self.handle.describe()).close_time is None:
            await self.handle.terminate("the test is over")


async def _start(
    joint_env: tuple[WorkflowEnvironment, str, Settings], matter: str, application: dict[str, str]
) -> Application:
    env, queue, _settings = joint_env
    joint_id = f"{matter.split('-')[0]}-{uuid.uuid4().hex[:10]}"
    handle = await env.client.start_workflow(
        JointWorkflow.run,
        JointStart(joint_id=joint_id, matter_code=matter, application=application),
        id=joint_workflow_id(joint_id),
        task_queue=queue,
    )
    return Application(joint_id, handle)


def status(current: JointView, code: str) -> StepStatus | None:
    found = current.step(code)
    return None if found is None else found.status


async def test_the_withdrawal_runs_its_steps_in_order_with_one_automatic_and_one_late_step_carded(
    joint_env: tuple[WorkflowEnvironment, str, Settings],
) -> None:
    env, _queue, settings = joint_env
    application = await _start(joint_env, "GJJ-TQ", {"id_number": ID_NUMBER})
    joint_id, handle, view, step = application.joint_id, application.handle, application.view, status

    try:
        started = await eventually(view, lambda v: step(v, "marriage") is StepStatus.DONE, what="the automatic step")
        assert step(started, "purchase") is StepStatus.RUNNING
        assert step(started, "amount") is StepStatus.WAITING

        early = CompleteStep(command_id="c-0", department=FUND, step="amount")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(JOINT_COMPLETE_STEP, early, result_type=JointView)
        assert "joint.step_not_ready" in str(refused.value.cause)
        stranger = CompleteStep(command_id="c-1", department=FUND, step="purchase")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(JOINT_COMPLETE_STEP, stranger, result_type=JointView)
        assert "actor.step_department" in str(refused.value.cause)

        purchase = CompleteStep(command_id="c-2", department=HOUSING, step="purchase")
        await handle.execute_update(JOINT_COMPLETE_STEP, purchase, result_type=JointView)
        await eventually(view, lambda v: step(v, "amount") is StepStatus.RUNNING, what="the amount step started")

        await env.sleep(timedelta(days=4))  # the amount's one working day passes
        carded = await view()
        assert [(card.department, card.step, card.reason.value) for card in carded.cards] == [
            (FUND, "amount", "step_overdue")
        ]

        await handle.execute_update(
            JOINT_COMPLETE_STEP, CompleteStep(command_id="c-3", department=FUND, step="amount"), result_type=JointView
        )
        settle = CompleteStep(command_id="c-4", department=FUND, step="settle")
        await handle.execute_update(JOINT_COMPLETE_STEP, settle, result_type=JointView)
        done = await handle.result()
        record_history("joint-withdrawal", handle.id, await handle.fetch_history())
    finally:
        await application.stop()

    assert done.status is JointStatus.DONE
    marriage, purchase_step, amount, settled = (
        done.step(code) for code in ("marriage", "purchase", "amount", "settle")
    )
    assert marriage and purchase_step and amount and settled
    assert marriage.done_by == "verification: answered" and marriage.answer_digest
    assert amount.started_at is not None and purchase_step.done_at is not None
    assert amount.started_at >= purchase_step.done_at and amount.late
    assert settled.started_at is not None and amount.done_at is not None and settled.started_at >= amount.done_at
    assert not settled.late
    async with open_resources(settings) as resources, resources.sessions() as session:
        row = await session.get(JointHandling, joint_id)
        cards = (await session.scalars(select(Card).where(Card.subject_id == f"joint-{joint_id}"))).all()
    assert row is not None and (row.status, row.version) == ("done", done.version)
    assert [(card.department_code, card.step, card.reason) for card in cards] == [(FUND, "amount", "step_overdue")]


async def test_a_step_left_late_climbs_the_ladder_after_its_card(
    joint_env: tuple[WorkflowEnvironment, str, Settings],
) -> None:
    """The card at the due time, then the reminder notice, the supervision order, the circular and the admonitory
    talk where the legal clock puts them; the last two count against the department. Done, it climbs no more."""
    env, _queue, settings = joint_env
    application = await _start(joint_env, "GJJ-TQ", {"id_number": ID_NUMBER})
    joint_id, handle, view = application.joint_id, application.handle, application.view

    def purchase_running(current: JointView) -> bool:
        found = current.step("purchase")
        return found is not None and found.status is StepStatus.RUNNING and bool(found.ladder)

    try:
        started = await eventually(view, purchase_running, what="the purchase step with its ladder")
        purchase = started.step("purchase")
        assert purchase is not None and purchase.due_at is not None
        assert [rung.kind.value for rung in purchase.ladder] == [
            "reminder_notice",
            "supervision_order",
            "circular",
            "admonitory_talk",
        ]
        assert all(rung.at > purchase.due_at and rung.fired_at is None for rung in purchase.ladder)

        # Just past the first rung (the card came at the due time before it), whatever the hour the test starts at.
        await env.sleep(purchase.ladder[0].at - await env.get_current_time() + timedelta(minutes=1))

        def first_rung_fired(current: JointView) -> bool:
            step = current.step("purchase")
            return bool(current.cards) and step is not None and step.ladder[0].fired_at is not None

        # The timers fired during the sleep; the workflow records what they did a moment later.
        early = await eventually(view, first_rung_fired, what="the card and the first rung")
        early_step = early.step("purchase")
        assert [(card.department, card.step) for card in early.cards] == [(HOUSING, "purchase")]
        assert early_step is not None and early_step.ladder[0].fired_at is not None
        assert early_step.ladder[-1].fired_at is None

        await env.sleep(timedelta(days=30))  # past the admonitory talk's ten working days

        def every_rung_fired(current: JointView) -> bool:
            step = current.step("purchase")
            return step is not None and all(rung.fired_at is not None for rung in step.ladder)

        await eventually(view, every_rung_fired, what="every rung of the ladder")

        done = CompleteStep(command_id="c-1", department=HOUSING, step="purchase")
        await handle.execute_update(JOINT_COMPLETE_STEP, done, result_type=JointView)
        record_history("joint-withdrawal-ladder-ordered", handle.id, await handle.fetch_history())
    finally:
        await application.stop()

    async with open_resources(settings) as resources, resources.sessions() as session:
        events = (await session.scalars(select(ScoreEvent).where(ScoreEvent.subject_id == f"joint-{joint_id}"))).all()
    # The supervision-order rung's order went unanswered: a second red card at its deadline.
    assert sorted((event.department_code, event.kind) for event in events) == [
        (HOUSING, "admonitory_talk"),
        (HOUSING, "card_red"),
        (HOUSING, "card_red"),
        (HOUSING, "circular"),
    ]


async def test_the_applicant_hears_of_each_step_done_and_of_the_end(
    joint_env: tuple[WorkflowEnvironment, str, Settings],
) -> None:
    application = await _start(joint_env, "GJJ-TQ", {"id_number": ID_NUMBER, "mobile": MOBILE})
    joint_id, handle = application.joint_id, application.handle
    try:
        for number, (department, code) in enumerate(((HOUSING, "purchase"), (FUND, "amount"), (FUND, "settle"))):
            await application.until(lambda view, code=code: status(view, code) is StepStatus.RUNNING, f"{code} running")
            await application.complete(f"c-{number}", department, code)
        done = await handle.result()
        record_history("joint-withdrawal-applicant-code", handle.id, await handle.fetch_history())
    finally:
        await application.stop()

    assert done.status is JointStatus.DONE
    mine = [message for message in TEXTS.sent if message.variables.get("joint_id") == joint_id]
    assert {message.phones for message in mine} == {(MOBILE,)}
    assert sorted((message.template_id, message.variables.get("step", "")) for message in mine) == [
        ("applicant_done", ""),
        ("applicant_opened", ""),
        ("applicant_step_done", "amount"),
        ("applicant_step_done", "marriage"),
        ("applicant_step_done", "purchase"),
        ("applicant_step_done", "settle"),
    ]
    assert all(ID_NUMBER not in str(message.variables) for message in mine)
    async with open_resources(joint_env[2]) as resources, resources.sessions() as session:
        stored = await CollaborationRepository(session).joint_status_code(joint_id)
    assert stored is not None
    [opening] = [message for message in mine if message.template_id == "applicant_opened"]
    assert opening.variables["verification_code"] == stored.verification_code
    assert all("verification_code" not in message.variables for message in mine if message is not opening)


async def test_the_cross_city_vehicle_transfer_is_one_hour_on_the_office_hours_clock(
    joint_env: tuple[WorkflowEnvironment, str, Settings],
) -> None:
    """The sample's vehicle transfer (5 working days cut to 1 hour): the purchase tax checked automatically with the
    tax bureau's system while the traffic police inspect the vehicle, then the transfer registered; the whole due one
    office hour after receipt and each step half an hour after it starts, whatever the hour the test starts at."""
    _env, _queue, settings = joint_env
    application = await _start(joint_env, "CL-KSZY", {"vin": VIN})
    try:
        started = await application.until(lambda v: status(v, "tax") is StepStatus.DONE, "the automatic tax check")
        assert status(started, "inspect") is StepStatus.RUNNING and status(started, "register") is StepStatus.WAITING
        await application.complete("v-1", TRAFFIC_POLICE, "inspect")
        await application.until(lambda v: status(v, "register") is StepStatus.RUNNING, "the registration started")
        await application.complete("v-2", TRAFFIC_POLICE, "register")
        done = await application.handle.result()
    finally:
        await application.stop()

    assert done.status is JointStatus.DONE and not done.late and not done.cards
    async with open_resources(settings) as resources:
        clock = await load_legal_clock(resources.sessions, None)

    def office_hours(started_at: datetime | None, hours: float) -> datetime:
        assert started_at is not None
        spec = ClockSpec(started_at=started_at, limit=hours, unit=ClockUnit.OFFICE_HOURS)
        return clock.deadline(spec).due_at

    assert done.due_at == office_hours(done.started_at, 1)
    tax, inspect, register = (done.step(code) for code in ("tax", "inspect", "register"))
    assert tax and inspect and register and register.started_at is not None
    assert tax.done_by == "verification: answered" and tax.answer_digest
    assert inspect.due_at == office_hours(inspect.started_at, 0.5)
    assert register.due_at == office_hours(register.started_at, 0.5)
    assert inspect.done_at is not None and register.started_at >= inspect.done_at
