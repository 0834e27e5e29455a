"""Hand-off fixtures: a registry whose departments deliver to a real HTTP receiver on 127.0.0.1, and a worker with
the real activities (legal clock, registry, ledger, gateway, SMS, intake) on a migrated SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest, DescribeWorkflowExecutionResponse
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.case.activities import CaseActivities
from activities.clock.activities import ClockActivities
from activities.gateway.delivery import GatewayActivities
from activities.gateway.webhook_secrets import secret_env_name
from activities.handoff.admission import HandoffIntakeActivities
from activities.handoff.reconciliation import HandoffReportActivities
from activities.handoff.records import HandoffStoreActivities
from activities.handoff.withdrawal import HandoffWithdrawalActivities
from activities.ledger import LedgerActivities
from activities.notify.providers import LoggingSmsProvider
from activities.notify.sms import SmsActivities
from activities.registry.lookups import RegistryActivities
from activities.store.db import create_engine, create_session_factory
from activities.store.ledger.audit import AuditTrailRepository
from caseloop.direct.intake import report_event, report_events
from schemas.handoff import (
    Actor,
    BatchReport,
    EventBatch,
    EventReport,
    HandoffStage,
    HandoffView,
    Role,
    SourceEvent,
    Terminate,
)
from schemas.ledger import AuditEntry
from services.clock.service import ClockService
from services.ledger import Ledger
from services.registry.importer import import_registry
from tests.gateway.receiver import Answer, Receiver
from tests.support.eventually import eventually
from tests.support.stores import StoreTemplates
from tests.support.temporal import open_time_skipping_server
from workers.resources import Resources
from workers.settings import Settings, get_settings
from workers.worker import build_worker
from workflows import policies
from workflows.handoff.entity import HandoffWorkflow
from workflows.handoff.intake import HandoffBatchWorkflow, HandoffIntakeWorkflow, HandoffWithdrawalWorkflow
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow

APPROVAL_BUREAU = "SQ-SPJ"
MARKET_REGULATOR = "SQ-SCJGJ"
HR_BUREAU = "SQ-RSJ"
DISTRICT = "SQ-SC"
DISTRICT_REGULATOR = "SQ-SC-SCJG"
INBOX_BUREAU = "SQ-SLJ"  # no webhook: its pushes wait in the inbox
COORDINATOR = "SQ-YSB"
# How many hand-offs at rest the teardown tells to end at the same time (`Rig.stop_open_handoffs`).
TEARDOWN_AT_ONCE = 16

FOOD_LICENCE = "SP-SPJY"  # claim on push, routed to the market regulator
LABOUR_DISPATCH = "SP-LWPQ"  # explicit claim; the registry wrongly gives its supervision to the market regulator
TIMED_SERVICE = "SP-RLZY"  # explicit claim, with push and act limits of its own, to the market regulator
WATER_PERMIT = "SP-QSXK"  # explicit claim; supervised in the district first, at city level otherwise
FOOD_MATTER = "SQ-SG-SPJY"
LABOUR_MATTER = "SQ-SG-LWPQ"
WATER_MATTER = "SQ-SG-QSXK"
PENALTY_MATTER = "SQ-GS-XZCF"

# The longest wait between two attempts of any activity a hand-off runs: a push's.
LONGEST_RETRY_INTERVAL = policies.DEPARTMENT_DELIVERY["retry_policy"].maximum_interval

SECRET = b"handoff-test-secret"
SECRET_REF = "handoff-test"  # every department's secret_ref in REGISTRY

REGISTRY = """
defaults:
  coordinator: SQ-YSB

departments:
  - {{code: SQ, name: 宿遷市人民政府, level: city}}
  - {{code: SQ-YSB, name: 宿遷市優化營商環境辦公室, level: city, parent: SQ}}
  - code: SQ-SPJ
    name: 宿遷市行政審批局
    level: city
    parent: SQ
    webhook_url: {url}
    secret_ref: handoff-test
    functions:
      approval:
        - {{code: SP-SPJY, name: 食品經營許可}}
        - {{code: SP-LWPQ, name: 勞務派遣經營許可}}
        - {{code: SP-QSXK, name: 取水許可}}
        - {{code: SP-RLZY, name: 人力資源服務許可}}
    roster:
      - {{role: liaison, name: 示例聯絡員-審批局, phone: "13800000011"}}
  - code: SQ-SCJGJ
    name: 宿遷市市場監督管理局
    level: city
    parent: SQ
    webhook_url: {url}
    secret_ref: handoff-test
    functions:
      supervision:
        - {{code: JG-SPJY, name: 食品經營監管}}
        - {{code: JG-LWPQ, name: 勞務派遣監管}}
        - {{code: JG-QSJG, name: 取水監管}}
    roster:
      - {{role: liaison, name: 示例聯絡員-市場監管局, phone: "13800000041"}}
  - code: SQ-RSJ
    name: 宿遷市人力資源和社會保障局
    level: city
    parent: SQ
    webhook_url: {url}
    secret_ref: handoff-test
    roster:
      - {{role: liaison, name: 示例聯絡員-人社局, phone: "13800000051"}}
  - code: SQ-SLJ
    name: 宿遷市水利局
    level: city
    parent: SQ
    roster:
      - {{role: liaison, name: 示例聯絡員-水利局, phone: "13800000061"}}
  - {{code: SQ-SC, name: 宿城區人民政府, level: district, parent: SQ, locality: true}}
  - code: SQ-SC-SCJG
    name: 宿城區市場監督管理局
    level: district
    parent: SQ-SC
    webhook_url: {url}
    secret_ref: handoff-test
    functions:
      supervision:
        - {{code: JG-QSJG, name: 取水監管}}
    roster:
      - {{role: liaison, name: 示例聯絡員-宿城區市場監管局, phone: "13800000071"}}

matters:
  - code: SQ-SG-SPJY
    name: 食品經營許可 → 市場監管
    kind: approval_supervision
    direction: approval_to_supervision
    trigger: case_closed
    trigger_item: SP-SPJY
    target_item: JG-SPJY
    initiators: [SQ-SPJ]
    claim_mode: on_push
    card_profile: default
    limits: &loop_one
      claim: 2 working-days
      return: 1 working-days
      reroute: 1 working-days
      feedback: 3 working-days
      acknowledge: 1 working-days
      end_to_end: 3 working-days
  - code: SQ-SG-RLZY
    name: 人力資源服務許可 → 市場監管(限時推送、限時處置)
    kind: approval_supervision
    direction: approval_to_supervision
    trigger: case_closed
    trigger_item: SP-RLZY
    target_item: JG-SPJY
    initiators: [SQ-SPJ]
    claim_mode: explicit
    card_profile: default
    limits:
      claim: 2 working-days
      feedback: 3 working-days
      acknowledge: 1 working-days
      end_to_end: 3 working-days
      push: 1 working-days
      act: 1 working-days
  - code: SQ-SG-LWPQ
    name: 勞務派遣經營許可 → 人社監管
    kind: approval_supervision
    direction: approval_to_supervision
    trigger: case_closed
    trigger_item: SP-LWPQ
    target_item: JG-LWPQ
    initiators: [SQ-SPJ]
    claim_mode: explicit
    card_profile: default
    limits: *loop_one
  - code: SQ-SG-QSXK
    name: 取水許可 → 水利監管
    kind: approval_supervision
    direction: approval_to_supervision
    trigger: case_closed
    trigger_item: SP-QSXK
    target_item: JG-QSJG
    initiators: [SQ-SPJ]
    claim_mode: explicit
    card_profile: default
    limits: *loop_one
  - code: SQ-SG-QSXK-INBOX
    name: 取水許可 → 水利局(告知)
    kind: approval_supervision
    direction: approval_to_supervision
    trigger: enterprise_changed
    initiators: [SQ-SPJ]
    collaborators: [SQ-SLJ]
    claim_mode: on_push
    card_profile: default
    limits: *loop_one
  - code: SQ-SGZ-QYDJ
    name: 企業設立登記 → 許可部門(雙告知)
    kind: registration_notice
    direction: registration_to_permit
    trigger: enterprise_registered
    initiators: [SQ-SPJ]
    collaborators: [SQ-SCJGJ, SQ-RSJ]
    claim_mode: explicit
    card_profile: near-due
    limits: *loop_one
  - code: SQ-GS-XZCF
    name: 行政處罰決定 → 審批部門
    kind: approval_supervision
    direction: supervision_to_approval
    trigger: penalty_decided
    target_item: SP-SPJY
    initiators: [SQ-SCJGJ]
    claim_mode: explicit
    card_profile: default
    limits:
      claim: 1 working-days
      feedback: 2 working-days
      acknowledge: 1 working-days
      end_to_end: 3 working-days
      push_back: 1 working-days
"""


# What a history owes once its last workflow task completed, when an event of these kinds follows it.
OWED = {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}


def _quiet(description: DescribeWorkflowExecutionResponse) -> bool:
    """No workflow task and no activity pending, as the server describes the run."""
    return not description.HasField("pending_workflow_task") and not description.pending_activities


def _awaiting_retry(activity: PendingActivityInfo) -> bool:
    """An activity that failed and waits for its next attempt: the test server shows it as started until then."""
    if activity.attempt == 1 or activity.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
        return False
    return activity.last_attempt_complete_time.ToDatetime() >= activity.last_started_time.ToDatetime()


def secrets(_ref: str) -> bytes:
    return SECRET


@pytest.fixture(autouse=True)
def local_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The departments' receivers live on 127.0.0.1, which the webhook URL rules refuse unless allowed."""
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """The store's kind, module-wide: each kind gets its own time-skipping server (`handoff_server`), so the
    workflow IDs one kind's run leaves (an event's key, a batch's ID) never meet the other's."""
    kind: str = request.param
    return kind


@pytest.fixture
async def store_url(
    database: str, request: pytest.FixtureRequest, tmp_path: Path, store_templates: StoreTemplates
) -> AsyncIterator[str]:
    """A migrated, empty store of the module's kind (the suite's own `store_url`, run per kind)."""
    admin_url = request.getfixturevalue("pg_admin_url") if database == "postgresql" else None
    async with store_templates.fresh(database, tmp_path, admin_url) as url:
        yield url


@pytest.fixture
async def store_engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """The migrated store of `store_url`: every hand-off test runs once on SQLite and once on PostgreSQL."""
    engine = create_engine(store_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(store_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(store_engine)


@pytest.fixture
def receiver_script() -> list[Answer]:
    """How the departments' systems answer, one answer per request, the last repeated; tests parametrize it."""
    return [Answer(200, "ok")]


@pytest.fixture
def receiver(receiver_script: list[Answer]) -> Iterator[Receiver]:
    """Every department's webhook, one real HTTP server on 127.0.0.1."""
    department = Receiver(receiver_script)
    with department.running():
        yield department


async def load_registry(sessions: async_sessionmaker[AsyncSession], tmp_path: Path, url: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY.format(url=url), encoding="utf-8")
    await import_registry(sessions, [path])


@pytest.fixture
async def registry(store: async_sessionmaker[AsyncSession], receiver: Receiver, tmp_path: Path) -> None:
    await load_registry(store, tmp_path, receiver.url)


def handoff_activities(sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient) -> list[Callable[..., Any]]:
    clock = ClockActivities(sessions)
    gateway = GatewayActivities(sessions, http, secrets)
    sms = SmsActivities(sessions, LoggingSmsProvider())
    ledger = LedgerActivities(sessions)
    registry = RegistryActivities(sessions)
    intake = HandoffIntakeActivities(sessions)
    reports = HandoffReportActivities(sessions)
    withdrawal = HandoffWithdrawalActivities(sessions)
    store = HandoffStoreActivities(Ledger(sessions))
    case = CaseActivities(ClockService(sessions), Ledger(sessions), sessions)
    return [
        case.plan_clocks,  # a lean hand-off's clocks, one local activity per transition
        clock.compute_deadline,
        clock.schedule_rungs,
        gateway.deliver_push,
        sms.send_sms,
        ledger.record_handoff_transition,
        ledger.record_card,
        ledger.record_supervision_order,
        ledger.record_score_event,
        store.record_writes,
        registry.get_department,
        registry.resolve_handoff_receivers,
        intake.admit_events,
        reports.reconcile_open_loops,
        reports.thread,
        withdrawal.withdraw_source,
    ]


HANDOFF_WORKFLOWS = [
    HandoffWorkflow,
    HandoffIntakeWorkflow,
    HandoffBatchWorkflow,
    HandoffWithdrawalWorkflow,
    HandoffReconciliationWorkflow,
]


@dataclass
class Rig:
    """What a hand-off test drives: the client, the store, the departments' receiver, the task queue."""

    env: WorkflowEnvironment
    sessions: async_sessionmaker[AsyncSession]
    receiver: Receiver
    task_queue: str
    worker: Worker | None = None  # the production worker the rig runs
    started: set[str] = field(default_factory=set)

    @property
    def client(self) -> Client:
        return self.env.client

    async def report(self, event: SourceEvent) -> EventReport:
        report = await report_event(self.client, event, self.task_queue)
        self.started.update(handoff.handoff_id for handoff in report.handoffs)
        return report

    async def report_batch(self, batch: EventBatch) -> BatchReport:
        report = await report_events(self.client, batch, self.task_queue)
        self.started.update(handoff.handoff_id for event in report.reports for handoff in event.handoffs)
        return report

    async def stop_open_handoffs(self) -> None:
        """Later tests skip time on the same server: every hand-off of this test ends before its worker stops.

        They end the domain's way (the coordinator terminates them) once at rest, with no activity pending at all:
        the test server keeps time locked for a task whose workflow Temporal terminated under it, and it refuses to
        cancel an activity it is about to retry or that completes in the same workflow task (`ACTIVITY_UNKNOWN`,
        sdk-java issue 2391), which the real server accepts. So the departments' receiver takes every push from
        here on and a push waiting on its retry is let through first. Should a hand-off still not end the domain's
        way, it is terminated on the server, which this module owns.

        Those already at rest are told side by side first (a nightly batch leaves hundreds): no time passes while
        their updates run, since nothing here skips time or awaits a result (the test client unlocks time for
        that), so no timer or retry starts an activity under another's terminate. The rest, and any the first round
        did not end, are then taken one at a time, skipping time where a retry is due.
        """
        self.receiver.answer_everything(Answer(200, "ok"))
        stop = Terminate(actor=Actor(department=COORDINATOR, role=Role.COORDINATOR), reason="test finished")
        gate = asyncio.Semaphore(TEARDOWN_AT_ONCE)

        async def tell_if_resting(handoff_id: str) -> None:
            async with gate:
                if await self._resting_now(handoff_id):
                    try:
                        await asyncio.wait_for(
                            self.handle(handoff_id).execute_update(HandoffWorkflow.terminate, stop), 30
                        )
                    except (
                        WorkflowUpdateFailedError,
                        RPCError,
                        WorkflowUpdateRPCTimeoutOrCancelledError,
                        TimeoutError,
                    ):
                        pass  # ended already, or left to the round below

        await asyncio.gather(*(tell_if_resting(handoff_id) for handoff_id in sorted(self.started)))
        for handoff_id in sorted(self.started):
            handle = self.handle(handoff_id)
            if not await self._at_rest(handoff_id):
                continue  # it ended
            try:
                await asyncio.wait_for(handle.execute_update(HandoffWorkflow.terminate, stop), timeout=30)
            except (WorkflowUpdateFailedError, RPCError):
                pass  # its loop closed or it ended already
            except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
                await self._terminate(handle)
                continue
            try:
                await asyncio.wait_for(handle.result(), timeout=30)
            except TimeoutError:
                await self._terminate(handle)

    @staticmethod
    async def _terminate(handle: WorkflowHandle[Any, HandoffView]) -> None:
        try:
            await handle.terminate("the test's teardown could not end it the domain's way")
        except RPCError:
            pass  # it ended meanwhile

    async def _resting_now(self, handoff_id: str) -> bool:
        """Whether the hand-off runs with no workflow task and no activity pending, nor a task owed: one look, no
        waiting and no time skipped."""
        description = await self.client.workflow_service.describe_workflow_execution(self._describe(handoff_id))
        return (
            description.workflow_execution_info.status == WorkflowExecutionStatus.RUNNING.value
            and _quiet(description)
            and await self._no_task_owed(handoff_id)
        )

    def _describe(self, handoff_id: str) -> DescribeWorkflowExecutionRequest:
        return DescribeWorkflowExecutionRequest(
            namespace=self.client.namespace, execution=WorkflowExecution(workflow_id=handoff_id)
        )

    async def _at_rest(self, handoff_id: str) -> bool:
        """Waits until the hand-off has no workflow task and no activity pending; False if it ended.

        An activity waiting on its retry holds no time lock, so workflow time runs on (a second, then twice as
        long each time, up to the longest retry interval) until the retry has run against the receiver.
        """
        request = self._describe(handoff_id)
        skip = timedelta(seconds=1)
        # A wait, not a timing assertion: a loaded two-core machine may take many seconds to run a task.
        deadline = asyncio.get_running_loop().time() + 120
        while asyncio.get_running_loop().time() < deadline:
            # The raw description: the SDK's own cannot read the test server's datetime search attributes.
            description = await self.client.workflow_service.describe_workflow_execution(request)
            if description.workflow_execution_info.status != WorkflowExecutionStatus.RUNNING.value:
                return False
            if _quiet(description):
                if await self._no_task_owed(handoff_id):
                    return True
                await asyncio.sleep(0.025)
                continue
            if not description.HasField("pending_workflow_task") and all(
                map(_awaiting_retry, description.pending_activities)
            ):
                await self.env.sleep(skip)
                skip = min(skip * 2, LONGEST_RETRY_INTERVAL)
                continue
            skip = timedelta(seconds=1)
            await asyncio.sleep(0.025)
        return True  # still busy: `stop_open_handoffs` terminates it on the server if the domain's way fails

    async def _no_task_owed(self, handoff_id: str) -> bool:
        """Whether its history owes it nothing since its last completed workflow task: no workflow task scheduled
        and no activity scheduled. The test server's description can show neither while the task that just
        completed has scheduled an activity (or an activity's completion a task), and a terminate sent then never
        completes: its workflow task is left started, the activity never dispatched, until the update times out."""
        events = (await self.handle(handoff_id).fetch_history()).events
        completed = [
            n for n, event in enumerate(events) if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        return bool(completed) and all(event.event_type not in OWED for event in events[completed[-1] :])

    def handle(self, handoff_id: str) -> WorkflowHandle[Any, HandoffView]:
        self.started.add(handoff_id)
        return self.client.get_workflow_handle(handoff_id, result_type=HandoffView)

    async def view(self, handoff_id: str) -> HandoffView:
        return await self.handle(handoff_id).query(HandoffWorkflow.view)

    async def until(self, handoff_id: str, ready: Callable[[HandoffView], bool]) -> HandoffView:
        """Waits for the worker to finish what it was given (no workflow time passes meanwhile)."""
        return await eventually(
            lambda: self.view(handoff_id),
            ready,
            what=lambda view: f"{handoff_id} never got there; it is {view.model_dump_json(indent=1)}",
        )

    async def trail_until(self, handoff_id: str, action: str) -> list[AuditEntry]:
        """The hand-off's audit trail once `action` is in it: the store is written after the state changes."""

        async def trail() -> list[AuditEntry]:
            async with self.sessions() as session:
                return list(await AuditTrailRepository(session).entries_for(handoff_id))

        return await eventually(
            trail,
            lambda entries: action in {entry.action for entry in entries},
            what=lambda entries: f"{handoff_id} never recorded {action}: {[entry.action for entry in entries]}",
        )

    async def until_stage(self, handoff_id: str, stage: HandoffStage) -> HandoffView:
        return await self.until(handoff_id, lambda view: view.stage is stage)

    async def skip_past(self, instant: datetime | None) -> None:
        """Lets workflow time run a minute past `instant`."""
        assert instant is not None
        await self.env.sleep(instant - await self.env.get_current_time() + timedelta(minutes=1))


@pytest.fixture(scope="module")
async def handoff_server(database: str) -> AsyncIterator[WorkflowEnvironment]:
    """Each hand-off test module skips time on a server of its own, one per store kind (`database`).

    A hand-off still busy when its test ends holds the test server's time lock, which stalls every later test on
    that server. Starting one takes about a second.
    """
    async with open_time_skipping_server() as env:
        yield env


@pytest.fixture
async def rig(
    handoff_server: WorkflowEnvironment,
    store_url: str,
    store_engine: AsyncEngine,
    store: async_sessionmaker[AsyncSession],
    registry: None,
    receiver: Receiver,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Rig]:
    """The production worker (`build_worker`: every workflow and activity, as `caseloop worker` runs them) on the
    time-skipping server, with the test's store and the departments' webhook secret in its environment."""
    monkeypatch.setenv(secret_env_name(SECRET_REF), SECRET.decode())
    settings = Settings(data_dir=tmp_path, store_url=store_url)
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as http:
        resources = Resources(settings=settings, engine=store_engine, sessions=store, http=http)
        async with build_worker(handoff_server.client, resources, task_queue) as worker:
            rig = Rig(handoff_server, store, receiver, task_queue, worker)
            yield rig
            await rig.stop_open_handoffs()
