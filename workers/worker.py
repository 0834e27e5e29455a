"""Builds the caseloop worker: every workflow and activity the engine runs, on one task queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.case.activities import CaseActivities
from activities.clock.activities import ClockActivities
from activities.gateway.batch import BatchDeliveryActivities
from activities.gateway.delivery import GatewayActivities
from activities.gateway.inbox import InboxActivities
from activities.gateway.webhook_secrets import environment_secret
from activities.handoff.admission import HandoffIntakeActivities
from activities.handoff.reconciliation import HandoffReportActivities
from activities.handoff.records import HandoffStoreActivities
from activities.handoff.withdrawal import HandoffWithdrawalActivities
from activities.intake.requester import RequesterActivities
from activities.joint.records import ApplicantActivities, JointActivities
from activities.ledger import LedgerActivities
from activities.notify.providers import sms_provider_for
from activities.notify.sms import SmsActivities
from activities.registry.lookups import RegistryActivities
from activities.reports import ReportActivities
from activities.scheduled.days import ScheduledDeliveryActivities
from activities.scheduled.pull import DeliveryPullActivities
from activities.verify.calls import VerificationActivities
from services.clock.service import ClockService
from services.ledger import Ledger
from workers.reporting import report_service
from workers.resources import Resources
from workers.sandbox_code import keep_compiled_workflow_code
from workflows.case.workflow import CaseWorkflow
from workflows.delivery.workflow import DeliveryDayWorkflow, DeliveryOpeningWorkflow
from workflows.handoff.entity import HandoffWorkflow
from workflows.handoff.intake import HandoffBatchWorkflow, HandoffIntakeWorkflow, HandoffWithdrawalWorkflow
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow
from workflows.joint.workflow import JointWorkflow
from workflows.reports import ReportWorkflow
from workflows.verify.workflow import VerificationWorkflow

WORKFLOWS: Sequence[type] = (
    CaseWorkflow,
    HandoffWorkflow,
    HandoffIntakeWorkflow,
    HandoffBatchWorkflow,
    HandoffWithdrawalWorkflow,
    HandoffReconciliationWorkflow,
    ReportWorkflow,
    VerificationWorkflow,
    DeliveryDayWorkflow,
    DeliveryOpeningWorkflow,
    JointWorkflow,
)


# What every workflow run shares with the worker instead of importing it again in its own sandbox: the models and
# the pure rules. Re-importing them cost each new case or hand-off about 40 ms of CPU (a compile from source each time
# where no bytecode is cached), a quarter of the worker's time (bench/README.md). They do no I/O, read the time only
# through `workflow.now()` and hold no state between calls: their module-level names are read-only tables, policies
# and constants. A module shared here runs outside the sandbox's checks, so only such modules belong here; the
# workflow classes' own modules (workflows.case.workflow, workflows.handoff.entity and .intake, ...) stay sandboxed.
SHARED_WITH_WORKFLOWS = (
    "schemas",
    "workflows.policies",
    "workflows.sla",
    "workflows.snapshot",
    *(
        f"workflows.case.{rules}"
        for rules in (
            "bounds",
            "channel_deadline",
            "closure",
            "effects",
            "ladder",
            "launch",
            "machine",
            "meetings",
            "presentation",
            "progress",
            "records",
            "requester",
            "rules",
            "supervision",
            "verification",
        )
    ),
    *(f"workflows.handoff.{rules}" for rules in ("effects", "ladder", "machine", "presentation", "records")),
)


def workflow_runner(sandboxed: bool = True) -> WorkflowRunner:
    """How the worker runs workflow code.

    Sandboxed (the tests' workers, `CASELOOP_WORKFLOW_SANDBOX=true`): each instance runs its workflow module
    afresh in the SDK's sandbox, which refuses non-deterministic calls (the clock, I/O, threads); the pure modules
    are passed through (SHARED_WITH_WORKFLOWS) and the workflow modules' compiled code is kept between instances
    (workers/sandbox_code.py). Unsandboxed (the default in service): the same code runs directly, without the
    sandbox's per-call proxies and per-instance module run, which were 39 % of the worker's Python CPU in the
    lifecycle benchmark. The sandbox's guarantees still come from the test suite, whose workers all run sandboxed:
    a non-deterministic call on any tested path fails there, and every committed history replays in it.
    Unsandboxed, instances share module state, which is safe because the workflow modules keep none: their
    module-level names are read-only tables, policies and constants (tests/{case,handoff}/test_unsandboxed.py).
    """
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    keep_compiled_workflow_code()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SHARED_WITH_WORKFLOWS)
    )


def activities_for(resources: Resources) -> list[Callable[..., Any]]:
    """Every activity, bound to the process's resources."""
    gateway = GatewayActivities(resources.sessions, resources.http, environment_secret)
    inbox = InboxActivities(resources.sessions)
    sms_provider = sms_provider_for(resources.settings, resources.http)
    sms = SmsActivities(resources.sessions, sms_provider)
    requester = RequesterActivities(resources.sessions, sms_provider)
    registry = RegistryActivities(resources.sessions)
    batch = BatchDeliveryActivities(gateway, sms, requester)
    ledger = LedgerActivities(resources.sessions)
    clock = ClockActivities(resources.sessions)
    case = CaseActivities(ClockService(resources.sessions), Ledger(resources.sessions), resources.sessions)
    handoff_intake = HandoffIntakeActivities(resources.sessions, policy=resources.settings.handoff_policy)
    handoff_reports = HandoffReportActivities(resources.sessions)
    handoff_withdrawal = HandoffWithdrawalActivities(resources.sessions)
    handoff_store = HandoffStoreActivities(Ledger(resources.sessions))
    settings = resources.settings
    service = report_service(settings, resources.sessions)
    reports = ReportActivities(service, resources.http, settings.report_recipients, bucket=service.bucket)
    verification = VerificationActivities(resources.sessions, resources.http, environment_secret)
    scheduled = ScheduledDeliveryActivities(resources.sessions)
    pulls = DeliveryPullActivities(resources.sessions, resources.http, environment_secret)
    joint = JointActivities(resources.sessions)
    applicant = ApplicantActivities(resources.sessions, sms_provider)
    return [
        applicant.text_applicant,
        joint.plan_joint,
        joint.record_joint,
        verification.verify,
        scheduled.open_delivery_days,
        scheduled.plan_delivery_day,
        scheduled.record_delivery_day,
        pulls.pull_delivery,
        gateway.deliver_push,
        batch.deliver_transition,
        inbox.read_inbox,
        inbox.acknowledge_inbox_item,
        sms.send_sms,
        requester.text_requester,
        registry.get_department,
        registry.get_matter,
        registry.resolve_case_parties,
        registry.resolve_handoff_receivers,
        registry.match_trigger,
        ledger.record_case_transition,
        ledger.record_handoff_transition,
        ledger.record_supervision_order,
        ledger.record_card,
        ledger.record_score_event,
        ledger.record_rating,
        clock.compute_deadline,
        clock.schedule_rungs,
        clock.apply_extension,
        clock.apply_suspension,
        case.plan_clocks,
        case.record_changes,
        handoff_intake.admit_events,
        handoff_reports.reconcile_open_loops,
        handoff_withdrawal.withdraw_source,
        handoff_store.record_writes,
        reports.build_report,
        reports.send,
    ]


def build_worker(client: Client, resources: Resources, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or resources.settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(resources),
        workflow_runner=workflow_runner(resources.settings.workflow_sandbox),
        # Measured: one of the default 5 pollers takes new workflows; more pollers help under load.
        max_concurrent_workflow_task_polls=10,
    )
