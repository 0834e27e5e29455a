"""The monthly reconciliation (the "monthly letter"): every loop still open past its end-to-end limit, per
receiving department, recorded in the store; and the thread a loop-1 hand-off and its loop-2 hand-offs form."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.store.handoff_events import (
    HandoffEventRepository,
    HandoffReconciliation,
    ReconciledLoop,
    ReconciliationRepository,
)
from schemas.handoff import (
    DepartmentCount,
    DepartmentLoops,
    HandoffStage,
    HandoffThread,
    OverdueLoop,
    ReconciliationReport,
    ReconciliationRequest,
    ReconciliationSummary,
    ThreadMember,
    ThreadQuery,
)
from schemas.registry import HandoffDirection

UNROUTED = "-"


class HandoffReportActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @activity.defn(name="handoff_reconcile_open_loops")
    async def reconcile_open_loops(self, request: ReconciliationRequest) -> ReconciliationSummary:
        """Records the letter, one row per overdue loop, and answers its id and counts. Idempotent per workflow
        run: a retried attempt answers what the first one recorded."""
        info = activity.info()
        run_key = f"{info.workflow_id}:{info.workflow_run_id}"
        async with self._sessions.begin() as session:
            reports = ReconciliationRepository(session)
            stored = await reports.of_run(run_key)
            if stored is None:
                overdue = await HandoffEventRepository(session).open_past_limit(request.as_of)
                loops = []
                for start, record in overdue:
                    receiver = record.target_department if record is not None else start.receiver_code
                    loops.append(
                        ReconciledLoop(
                            department_code=receiver or UNROUTED,
                            handoff_id=start.handoff_id,
                            matter_code=start.matter_code,
                            direction=start.direction,
                            stage=record.stage if record is not None else HandoffStage.CREATED.value,
                            source_department=start.source_department,
                            receiver_code=receiver,
                            end_to_end_due_at=start.end_to_end_due_at,
                        )
                    )
                row = HandoffReconciliation(
                    run_key=run_key,
                    as_of=request.as_of,
                    open_past_limit=len(loops),
                    report=None,
                    recorded_at=datetime.now(UTC),
                )
                stored = await reports.record(row, loops)
            counts = await reports.counts(stored.id)
        activity.logger.info(
            "hand-off loops reconciled",
            extra={"report_id": stored.id, "open_past_limit": stored.open_past_limit, "as_of": str(stored.as_of)},
        )
        return ReconciliationSummary(
            report_id=stored.id,
            as_of=stored.as_of,
            open_past_limit=stored.open_past_limit,
            departments=[DepartmentCount(department_code=code, open_past_limit=n) for code, n in counts.items()],
        )

    @activity.defn(name="handoff_thread")
    async def thread(self, query: ThreadQuery) -> HandoffThread:
        async with self._sessions() as session:
            rows = await HandoffEventRepository(session).thread(query.thread_id)
        return HandoffThread(
            thread_id=query.thread_id,
            handoffs=[
                ThreadMember(
                    handoff_id=row.handoff_id,
                    matter_code=row.matter_code,
                    direction=HandoffDirection(row.direction),
                    source_department=row.source_department,
                    receiver_code=row.receiver_code,
                    related_handoff_id=row.related_handoff_id,
                    started_at=row.started_at,
                )
                for row in rows
            ],
        )


async def read_report(
    sessions: async_sessionmaker[AsyncSession], report_id: int, department_code: str | None = None
) -> ReconciliationReport | None:
    """A recorded letter from the store (one department's part when named), for the readers a run's id points
    to; None when no run recorded `report_id`."""
    async with sessions() as session:
        reports = ReconciliationRepository(session)
        stored = await reports.get(report_id)
        if stored is None:
            return None
        if stored.report is not None:  # recorded as one document, before loops got rows
            departments = [DepartmentLoops.model_validate(d) for d in stored.report["departments"]]
            if department_code is not None:
                departments = [d for d in departments if d.department_code == department_code]
            return ReconciliationReport(
                report_id=stored.id, as_of=stored.as_of, open_past_limit=stored.open_past_limit, departments=departments
            )
        per_department: dict[str, list[OverdueLoop]] = defaultdict(list)
        for loop in await reports.loops(report_id, department_code):
            per_department[loop.department_code].append(
                OverdueLoop(
                    handoff_id=loop.handoff_id,
                    matter_code=loop.matter_code,
                    direction=HandoffDirection(loop.direction),
                    stage=HandoffStage(loop.stage),
                    source_department=loop.source_department,
                    receiver_code=loop.receiver_code,
                    end_to_end_due_at=loop.end_to_end_due_at,
                    overdue_by=stored.as_of - loop.end_to_end_due_at,
                )
            )
    return ReconciliationReport(
        report_id=stored.id,
        as_of=stored.as_of,
        open_past_limit=stored.open_past_limit,
        departments=[DepartmentLoops(department_code=code, loops=loops) for code, loops in per_department.items()],
    )
