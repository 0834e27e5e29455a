"""The monthly reconciliation (the "monthly letter"): every loop still open past its end-to-end limit, per
receiving department, recorded in the store; and the thread a loop-1 hand-off and its loop-2 hand-offs form."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.store.handoff_events import HandoffEventRepository, HandoffReconciliation, ReconciliationRepository
from schemas.handoff import (
    DepartmentLoops,
    HandoffStage,
    HandoffThread,
    OverdueLoop,
    ReconciliationReport,
    ReconciliationRequest,
    ThreadMember,
    ThreadQuery,
)
from schemas.registry import HandoffDirection

UNROUTED = "-"


class HandoffReportActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @activity.defn(name="handoff_reconcile_open_loops")
    async def reconcile_open_loops(self, request: ReconciliationRequest) -> ReconciliationReport:
        """Idempotent per workflow run: a retried attempt returns the report the first one recorded."""
        info = activity.info()
        async with self._sessions.begin() as session:
            overdue = await HandoffEventRepository(session).open_past_limit(request.as_of)
            per_department: dict[str, list[OverdueLoop]] = defaultdict(list)
            for start, record in overdue:
                receiver = record.target_department if record is not None else start.receiver_code
                per_department[receiver or UNROUTED].append(
                    OverdueLoop(
                        handoff_id=start.handoff_id,
                        matter_code=start.matter_code,
                        direction=HandoffDirection(start.direction),
                        stage=HandoffStage(record.stage) if record is not None else HandoffStage.CREATED,
                        source_department=start.source_department,
                        receiver_code=receiver,
                        end_to_end_due_at=start.end_to_end_due_at,
                        overdue_by=request.as_of - start.end_to_end_due_at,
                    )
                )
            departments = [
                DepartmentLoops(department_code=code, loops=loops) for code, loops in sorted(per_department.items())
            ]
            row = HandoffReconciliation(
                run_key=f"{info.workflow_id}:{info.workflow_run_id}",
                as_of=request.as_of,
                open_past_limit=len(overdue),
                report={"departments": [department.model_dump(mode="json") for department in departments]},
                recorded_at=datetime.now(UTC),
            )
            stored = await ReconciliationRepository(session).record(row)
        activity.logger.info(
            "hand-off loops reconciled", extra={"open_past_limit": stored.open_past_limit, "as_of": str(stored.as_of)}
        )
        return ReconciliationReport(
            report_id=stored.id,
            as_of=stored.as_of,
            open_past_limit=stored.open_past_limit,
            departments=[DepartmentLoops.model_validate(d) for d in stored.report["departments"]],
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
