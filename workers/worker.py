"""Builds the caseloop worker: every workflow and activity the engine runs, on one task queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.case.activities import CaseActivities
from activities.clock.activities import ClockActivities
from activities.gateway.delivery import GatewayActivities
from activities.gateway.inbox import InboxActivities
from activities.gateway.webhook_secrets import environment_secret
from activities.handoff.admission import HandoffIntakeActivities
from activities.handoff.reconciliation import HandoffReportActivities
from activities.handoff.records import HandoffStoreActivities
from activities.handoff.withdrawal import HandoffWithdrawalActivities
from activities.ledger import LedgerActivities
from activities.notify.providers import sms_provider_for
from activities.notify.sms import SmsActivities
from activities.registry.lookups import RegistryActivities
from activities.reports import ReportActivities
from services.clock.service import ClockService
from services.ledger import Ledger
from services.reports.service import ReportService
from workers.resources import Resources
from workflows.case.workflow import CaseWorkflow
from workflows.handoff.entity import HandoffWorkflow
from workflows.handoff.intake import HandoffBatchWorkflow, HandoffIntakeWorkflow, HandoffWithdrawalWorkflow
from workflows.handoff.reconciliation import HandoffReconciliationWorkflow
from workflows.reports import ReportWorkflow

WORKFLOWS: Sequence[type] = (
    CaseWorkflow,
    HandoffWorkflow,
    HandoffIntakeWorkflow,
    HandoffBatchWorkflow,
    HandoffWithdrawalWorkflow,
    HandoffReconciliationWorkflow,
    ReportWorkflow,
)


def activities_for(resources: Resources) -> list[Callable[..., Any]]:
    """Every activity, bound to the process's resources."""
    gateway = GatewayActivities(resources.sessions, resources.http, environment_secret)
    inbox = InboxActivities(resources.sessions)
    sms = SmsActivities(resources.sessions, sms_provider_for(resources.settings, resources.http))
    registry = RegistryActivities(resources.sessions)
    ledger = LedgerActivities(resources.sessions)
    clock = ClockActivities(resources.sessions)
    case = CaseActivities(ClockService(resources.sessions), Ledger(resources.sessions), resources.sessions)
    handoff_intake = HandoffIntakeActivities(resources.sessions, policy=resources.settings.handoff_policy)
    handoff_reports = HandoffReportActivities(resources.sessions)
    handoff_withdrawal = HandoffWithdrawalActivities(resources.sessions)
    handoff_store = HandoffStoreActivities(Ledger(resources.sessions))
    settings = resources.settings
    reports = ReportActivities(
        ReportService(
            resources.sessions,
            settings.report_dir or settings.data_dir / "reports",
            settings.report_score_weights,
            settings.report_delay_working_days,
        )
    )
    return [
        gateway.deliver_push,
        inbox.read_inbox,
        inbox.acknowledge_inbox_item,
        sms.send_sms,
        registry.get_department,
        registry.get_matter,
        registry.resolve_case_parties,
        registry.resolve_handoff_receivers,
        registry.match_trigger,
        ledger.record_case_transition,
        ledger.record_handoff_transition,
        ledger.record_supervision_order,
        ledger.record_card,
        ledger.revoke_card,
        ledger.record_score_event,
        ledger.score_totals,
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
    ]


def build_worker(client: Client, resources: Resources, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or resources.settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_for(resources),
        # Measured: one of the default 5 pollers takes new workflows; more pollers help under load.
        max_concurrent_workflow_task_polls=10,
    )
