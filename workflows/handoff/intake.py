"""Event intake workflows: one per reported event (its ID is the event's key, so a second report finds the
first), one per batch, admitting its events in chunks with bounded concurrency, and one per withdrawal."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.handoff.admission import HandoffIntakeActivities
    from activities.handoff.withdrawal import HandoffWithdrawalActivities
    from schemas import names
    from schemas.handoff import (
        ADMISSION_CHUNK,
        ADMISSIONS_AT_ONCE,
        Admission,
        AdmissionResult,
        BatchReport,
        EventBatch,
        EventOutcome,
        EventReport,
        SourceEvent,
        SourceWithdrawal,
        WithdrawalReport,
    )
    from workflows import policies


def _run_key() -> str:
    info = workflow.info()
    return f"{info.workflow_id}:{info.run_id}"


@workflow.defn(name=names.HANDOFF_INTAKE_WORKFLOW)
class HandoffIntakeWorkflow:
    @workflow.run
    async def run(self, event: SourceEvent) -> EventReport:
        result = await workflow.execute_activity_method(
            HandoffIntakeActivities.admit_events,
            Admission(admitted_by=_run_key(), events=[event], as_of=workflow.now()),
            **policies.ADMISSION,
        )
        report = result.reports[0]
        if report.outcome is EventOutcome.REJECTED and report.rejection is not None:
            # Failing the run (not returning) lets the department report the corrected event under the same key.
            raise report.rejection.error()
        return report


@workflow.defn(name=names.HANDOFF_BATCH_WORKFLOW)
class HandoffBatchWorkflow:
    """Admits a batch chunk by chunk; its history holds a few events per chunk, whatever the batch's size."""

    @workflow.run
    async def run(self, batch: EventBatch) -> BatchReport:
        chunks = [batch.events[i : i + ADMISSION_CHUNK] for i in range(0, len(batch.events), ADMISSION_CHUNK)]
        results: list[AdmissionResult | None] = [None] * len(chunks)
        gate = asyncio.Semaphore(ADMISSIONS_AT_ONCE)
        run_key = _run_key()

        async def admit(index: int) -> None:
            async with gate:
                results[index] = await workflow.execute_activity_method(
                    HandoffIntakeActivities.admit_events,
                    Admission(admitted_by=f"{run_key}:{index}", events=chunks[index], as_of=workflow.now()),
                    **policies.ADMISSION,
                )

        await asyncio.gather(*(admit(index) for index in range(len(chunks))))
        return BatchReport(
            batch_id=batch.batch_id,
            reports=[report for result in results if result is not None for report in result.reports],
        )


@workflow.defn(name=names.HANDOFF_WITHDRAWAL_WORKFLOW)
class HandoffWithdrawalWorkflow:
    @workflow.run
    async def run(self, withdrawal: SourceWithdrawal) -> WithdrawalReport:
        return await workflow.execute_activity_method(
            HandoffWithdrawalActivities.withdraw_source, withdrawal, **policies.ADMISSION
        )
