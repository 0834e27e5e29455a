"""Event intake and the reconciliation against the real store, on SQLite and PostgreSQL.

The admission activity starts real workflows on the dev server (no worker polls their task queue; each test
terminates what it started). Not on the time-skipping server: it keeps time locked for a workflow terminated
before its first task ran, and the other tests there skip time.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.handoff.admission import HandoffIntakeActivities
from activities.handoff.reconciliation import HandoffReportActivities, read_report
from activities.store import models  # noqa: F401  (registers every table)
from activities.store.base import Base
from activities.store.db import create_engine
from activities.store.handoff_events import (
    HandoffEvent,
    HandoffReconciliation,
    HandoffStartRow,
    ReconciledLoop,
    ReconciliationRepository,
)
from activities.store.ledger.handoffs import HandoffRecordRepository
from activities.store.migrate import alembic_config, downgrade, upgrade
from schemas.handoff import (
    Admission,
    EventOutcome,
    EventReport,
    HandoffStage,
    ReconciliationRequest,
    SourceEvent,
)
from schemas.ledger import HandoffSnapshot
from schemas.registry import HandoffDirection, TriggerEvent
from tests.handoff.conftest import (
    APPROVAL_BUREAU,
    FOOD_LICENCE,
    FOOD_MATTER,
    HR_BUREAU,
    LABOUR_DISPATCH,
    MARKET_REGULATOR,
    PENALTY_MATTER,
    load_registry,
)
from tests.handoff.scenario import closed_approval

MIGRATION = "0015_reconciliation_reports"
OURS = {"handoff_events", "handoff_starts", "handoff_reconciliations", "handoff_reconciliation_loops"}


@pytest.fixture
async def intake(
    sessions: async_sessionmaker[AsyncSession], dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[HandoffIntakeActivities]:
    await load_registry(sessions, tmp_path, "http://127.0.0.1:9/unused")
    activities = HandoffIntakeActivities(sessions, dev_env.client)
    yield activities
    async with sessions() as session:
        started = (await session.scalars(select(HandoffStartRow.handoff_id))).all()
    for handoff_id in started:
        try:
            await dev_env.client.get_workflow_handle(handoff_id).terminate("test finished")
        except RPCError:
            pass


async def admit(intake: HandoffIntakeActivities, admitted_by: str, *events: SourceEvent) -> list[EventReport]:
    result = await ActivityEnvironment().run(
        intake.admit_events, Admission(admitted_by=admitted_by, events=list(events))
    )
    return result.reports


async def count(sessions: async_sessionmaker[AsyncSession], model: type[Base]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_an_event_is_recorded_once_and_a_second_report_is_a_duplicate(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession], dev_env: WorkflowEnvironment
) -> None:
    event = closed_approval(LABOUR_DISPATCH)
    [first] = await admit(intake, "intake-1", event)
    [retry] = await admit(intake, "intake-1", event)  # the same run's activity, retried
    [again] = await admit(intake, "intake-2", event)  # the department reported it twice

    assert (first.outcome, retry.outcome, again.outcome) == (
        EventOutcome.STARTED,
        EventOutcome.STARTED,
        EventOutcome.DUPLICATE,
    )
    assert first.handoffs == retry.handoffs == again.handoffs
    [handoff] = first.handoffs
    assert handoff.receiver_code == MARKET_REGULATOR and handoff.thread_id == handoff.handoff_id
    assert (await count(sessions, HandoffEvent), await count(sessions, HandoffStartRow)) == (1, 1)
    description = await dev_env.client.get_workflow_handle(handoff.handoff_id).describe()
    summary = await description.static_summary()
    assert summary is not None and event.reference in summary
    assert "宿遷" not in handoff.handoff_id and "宿遷" not in summary


async def test_the_same_event_twice_in_one_batch_starts_once(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession]
) -> None:
    event = closed_approval(FOOD_LICENCE)
    reports = await admit(intake, "batch-1:0", event, event)
    assert [report.outcome for report in reports] == [EventOutcome.STARTED, EventOutcome.DUPLICATE]
    assert await count(sessions, HandoffStartRow) == 1


async def test_an_event_no_matter_takes_is_recorded_and_reported_with_the_rule(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [report] = await admit(intake, "intake-1", closed_approval("SP-NO-SUCH-ITEM"))
    assert report.outcome is EventOutcome.UNMATCHED and not report.handoffs
    assert report.rejection is not None
    assert (report.rejection.rule, report.rejection.field) == ("event.unmatched", "event")
    assert "SP-NO-SUCH-ITEM" in report.rejection.message
    async with sessions() as session:
        [row] = (await session.scalars(select(HandoffEvent))).all()
    assert (row.outcome, row.item_code) == ("unmatched", "SP-NO-SUCH-ITEM")


async def test_an_event_from_an_unknown_department_is_rejected_and_not_recorded(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [report] = await admit(intake, "intake-1", closed_approval(LABOUR_DISPATCH, source_department="SQ-NOBODY"))
    assert report.outcome is EventOutcome.REJECTED
    assert report.rejection is not None and report.rejection.field == "source_department"
    assert "SQ-NOBODY does not exist" in report.rejection.message
    assert await count(sessions, HandoffEvent) == 0


async def test_a_finding_goes_back_to_the_originator_in_the_same_thread(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [loop_one] = (await admit(intake, "intake-1", closed_approval(FOOD_LICENCE)))[0].handoffs
    finding = SourceEvent(
        source_department=MARKET_REGULATOR,
        reference="宿市監罰〔2026〕7號",
        event=TriggerEvent.PENALTY_DECIDED,
        occurred_at=datetime.now(UTC),
        related_handoff_id=loop_one.handoff_id,
    )
    [report] = await admit(intake, "intake-2", finding)
    [loop_two] = report.handoffs
    assert loop_two.direction is HandoffDirection.SUPERVISION_TO_APPROVAL
    assert (loop_two.receiver_code, loop_two.thread_id, loop_two.matter_code) == (
        APPROVAL_BUREAU,
        loop_one.handoff_id,
        PENALTY_MATTER,
    )
    assert "~" in loop_two.handoff_id and loop_two.handoff_id.isascii()

    stranger = finding.model_copy(update={"source_department": HR_BUREAU, "reference": "宿人社罰〔2026〕1號"})
    [refused] = await admit(intake, "intake-3", stranger)
    assert refused.outcome is EventOutcome.REJECTED and refused.rejection is not None
    assert (refused.rejection.rule, refused.rejection.field) == ("event.not-the-receiver", "source_department")


async def test_the_reconciliation_lists_open_loops_past_their_limit_per_receiving_department(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession]
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=40)
    [stale] = (await admit(intake, "intake-1", closed_approval(LABOUR_DISPATCH, at=long_ago)))[0].handoffs
    [closed] = (await admit(intake, "intake-2", closed_approval(FOOD_LICENCE, at=long_ago)))[0].handoffs
    [fresh] = (await admit(intake, "intake-3", closed_approval(LABOUR_DISPATCH)))[0].handoffs
    async with sessions.begin() as session:
        records = HandoffRecordRepository(session)
        for handoff, stage, closed_at in ((stale, "claimed", None), (closed, "loop_closed", datetime.now(UTC))):
            snapshot = HandoffSnapshot(
                handoff_id=handoff.handoff_id,
                matter_code=handoff.matter_code,
                direction=handoff.direction.value,
                stage=stage,
                source_department=APPROVAL_BUREAU,
                target_department=handoff.receiver_code,
                created_at=long_ago,
                closed_at=closed_at,
            )
            await records.save(snapshot, 3, datetime.now(UTC))

    reports = HandoffReportActivities(sessions)
    request = ReconciliationRequest(as_of=datetime.now(UTC))
    report = await ActivityEnvironment().run(reports.reconcile_open_loops, request)
    retried = await ActivityEnvironment().run(reports.reconcile_open_loops, request)

    assert report.open_past_limit == 1 and retried == report
    assert [(d.department_code, d.open_past_limit) for d in report.departments] == [(MARKET_REGULATOR, 1)]
    assert await count(sessions, ReconciledLoop) == 1, "a retried run records its loops once"

    # The run answers the letter's id and counts; the letter itself is read from the store.
    letter = await read_report(sessions, report.report_id)
    assert letter is not None and letter.open_past_limit == 1
    [department] = letter.departments
    [loop] = department.loops
    assert (department.department_code, loop.handoff_id, loop.stage) == (
        MARKET_REGULATOR,
        stale.handoff_id,
        HandoffStage.CLAIMED,
    )
    assert loop.overdue_by > timedelta(days=30)
    assert fresh.handoff_id not in {loop.handoff_id for d in letter.departments for loop in d.loops}
    elsewhere = await read_report(sessions, report.report_id, department_code=HR_BUREAU)
    assert elsewhere is not None and elsewhere.departments == []
    assert await read_report(sessions, report.report_id + 1) is None


async def test_a_matter_snapshot_survives_in_the_start_row(
    intake: HandoffIntakeActivities, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [handoff] = (await admit(intake, "intake-1", closed_approval(FOOD_LICENCE)))[0].handoffs
    async with sessions() as session:
        row = await session.get(HandoffStartRow, handoff.handoff_id)
    assert row is not None and row.start["matter"]["code"] == FOOD_MATTER
    assert row.end_to_end_due_at > row.started_at - timedelta(days=1)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        differences = compare_metadata(context, Base.metadata)
    return [d for d in differences if OURS & set(str(d).split("'"))]


async def test_the_migration_creates_exactly_the_tables_the_models_describe(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_a_letter_recorded_in_rows_folds_into_its_document_on_downgrade_and_reads_the_same(
    store_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    as_of = datetime(2026, 3, 1, tzinfo=UTC)
    due = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    async with sessions.begin() as session:
        row = HandoffReconciliation(run_key="monthly:1", as_of=as_of, open_past_limit=2, report=None, recorded_at=as_of)
        loops = [
            ReconciledLoop(
                department_code=code,
                handoff_id=f"handoff-{n}",
                matter_code=FOOD_MATTER,
                direction=HandoffDirection.APPROVAL_TO_SUPERVISION.value,
                stage=HandoffStage.CLAIMED.value,
                source_department=APPROVAL_BUREAU,
                receiver_code=code,
                end_to_end_due_at=due,
            )
            for n, code in enumerate((MARKET_REGULATOR, HR_BUREAU))
        ]
        report_id = (await ReconciliationRepository(session).record(row, loops)).id
    before = await read_report(sessions, report_id)

    # Down to the revision before this migration (and back): the document holds what the rows did.
    down_to = ScriptDirectory.from_config(alembic_config()).get_revision(MIGRATION).down_revision
    assert isinstance(down_to, str)
    await downgrade(store_url, down_to)
    await upgrade(store_url)
    after = await read_report(sessions, report_id)
    assert before is not None and before == after
    assert {d.department_code for d in before.departments} == {MARKET_REGULATOR, HR_BUREAU}
    assert [loop.overdue_by for d in before.departments for loop in d.loops] == [as_of - due] * 2


async def test_a_matter_with_two_receivers_starts_one_handoff_each(intake: HandoffIntakeActivities) -> None:
    registered = closed_approval(None, event=TriggerEvent.ENTERPRISE_REGISTERED, reference="SQ-DJ-2026-0042")
    [report] = await admit(intake, "intake-1", registered)
    assert report.outcome is EventOutcome.STARTED
    identifier = "handoff-SQ-SGZ-QYDJ-SQ-SPJ-SQ-DJ-2026-0042-r2p"
    assert {(handoff.receiver_code, handoff.handoff_id) for handoff in report.handoffs} == {
        (receiver, f"{identifier}-{receiver}") for receiver in (MARKET_REGULATOR, HR_BUREAU)
    }
    assert {handoff.thread_id for handoff in report.handoffs} == {handoff.handoff_id for handoff in report.handoffs}
