"""Reports as operators and schedules run them: the CLI over a real store, the report workflow on the time-skipping
server, and the monthly and quarterly schedules on the dev server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    WorkflowFailureError,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.reports import ReportActivities
from activities.store.db import create_engine, create_session_factory
from activities.store.migrate import upgrade
from schemas.reports import REPORT_WORKFLOW, ReportKind, ReportPeriod, ReportRun, ReportWritten, ScoreWeights
from services.reports.service import ReportService
from tests.reports.seed import MONTH, seed_month
from workers.schedules import REPORT_SCHEDULE_IDS, ensure_schedules
from workers.settings import Settings
from workflows.reports import ReportWorkflow

Sessions = async_sessionmaker[AsyncSession]


def _cli(store_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CASELOOP_STORE_URL": store_url, "CASELOOP_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def test_the_cli_builds_the_monthly_and_quarterly_reports_from_the_store(
    store_url: str, sessions: Sessions, tmp_path: Path
) -> None:
    await seed_month(sessions)
    monthly = await asyncio.to_thread(_cli, store_url, tmp_path, "monthly", "--month", MONTH, "--json")
    assert monthly.returncode == 0, monthly.stderr
    written = ReportWritten.model_validate_json(monthly.stdout)
    assert Path(written.directory) == tmp_path / "reports" / "monthly-2026-03"
    assert (written.cases_opened, written.cases_closed, str(written.on_time_rate)) == (4, 3, "0.667")
    assert (Path(written.directory) / "report.pdf").is_file()

    quarterly = await asyncio.to_thread(_cli, store_url, tmp_path, "quarterly", "--quarter", "2026-Q1")
    assert quarterly.returncode == 0, quarterly.stderr
    assert "quarterly report 2026-Q1 written to" in quarterly.stdout
    # The quarter adds C4 (opened in February) and C6 (opened in January, closed late in February).
    assert "cases opened 6, closed 4, on time 50.0%" in quarterly.stdout
    assert (tmp_path / "reports" / "quarterly-2026-Q1" / "report.md").is_file()


@pytest.mark.parametrize(
    ("args", "field"),
    [(("monthly", "--month", "2026-13"), "month"), (("quarterly", "--quarter", "2026-Q5"), "quarter")],
)
def test_the_cli_refuses_a_period_that_does_not_exist(tmp_path: Path, args: tuple[str, ...], field: str) -> None:
    done = _cli(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}", tmp_path, *args)
    assert done.returncode == 2
    assert f"rule report.period, field {field}" in done.stderr
    assert not (tmp_path / "reports").exists() and not (tmp_path / "none.db").exists(), "nothing was touched"


@pytest.fixture
async def seeded(tmp_path: Path) -> Sessions:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(url)
    sessions = create_session_factory(create_engine(url))
    await seed_month(sessions)
    return sessions


def _worker(client: Client, task_queue: str, sessions: Sessions, directory: Path) -> Worker:
    activities = ReportActivities(ReportService(sessions, directory, ScoreWeights(), 5))
    return Worker(
        client, task_queue=task_queue, workflows=[ReportWorkflow], activities=[activities.build_report, activities.send]
    )


async def test_the_report_workflow_builds_the_named_or_the_previous_period(
    ts_env: WorkflowEnvironment, seeded: Sessions, tmp_path: Path
) -> None:
    client, task_queue = ts_env.client, f"tq-{uuid.uuid4()}"
    async with _worker(client, task_queue, seeded, tmp_path / "reports"):
        march = await client.execute_workflow(
            REPORT_WORKFLOW,
            ReportRun(kind=ReportKind.MONTHLY, period=MONTH),
            id=f"report-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=ReportWritten,
        )
        assert (march.period.label, march.cases_opened, march.typical_cases) == (MONTH, 4, 3)
        assert {file.name for file in march.files} >= {"report.md", "report.pdf", "ranking-departments.png"}

        handle = await client.start_workflow(
            REPORT_WORKFLOW,
            ReportRun(kind=ReportKind.QUARTERLY),
            id=f"report-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=ReportWritten,
        )
        previous = await handle.result()
        started = (await handle.describe()).start_time  # the server's clock, which earlier tests skipped ahead
        assert previous.period == ReportPeriod.previous(ReportKind.QUARTERLY, started)

        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                REPORT_WORKFLOW,
                ReportRun(kind=ReportKind.MONTHLY, period="2026-3"),
                id=f"report-{uuid.uuid4()}",
                task_queue=task_queue,
            )
        assert "period: a monthly period is written YYYY-MM" in str(failed.value.cause)


async def test_the_monthly_and_quarterly_schedules_exist_and_run_the_report(
    dev_env: WorkflowEnvironment, seeded: Sessions, tmp_path: Path
) -> None:
    client, task_queue = dev_env.client, f"tq-{uuid.uuid4()}"
    await ensure_schedules(client, Settings(data_dir=tmp_path, task_queue=task_queue))
    handles = {kind: client.get_schedule_handle(schedule_id) for kind, schedule_id in REPORT_SCHEDULE_IDS.items()}
    try:
        for kind, handle in handles.items():
            described = await handle.describe()
            action = described.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert (action.workflow, action.task_queue) == (REPORT_WORKFLOW, task_queue)
            assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
            [calendar] = described.schedule.spec.calendars
            assert (calendar.day_of_month[0].start, calendar.hour[0].start) == (1, 10)
            months = [m.start for m in calendar.month]
            assert months == ([1] if kind is ReportKind.MONTHLY else [1, 4, 7, 10]) or (
                kind is ReportKind.MONTHLY and calendar.month[0].end == 12
            )

        directory = tmp_path / "reports"
        async with _worker(client, task_queue, seeded, directory):
            monthly = handles[ReportKind.MONTHLY]
            await monthly.trigger()
            for _ in range(400):
                actions = (await monthly.describe()).info.recent_actions
                if actions:
                    break
                await asyncio.sleep(0.05)
            run = actions[-1].action
            assert isinstance(run, ScheduleActionExecutionStartWorkflow)
            written = await client.get_workflow_handle(run.workflow_id, result_type=ReportWritten).result()
        expected = ReportPeriod.previous(ReportKind.MONTHLY, actions[-1].started_at)
        assert written.period == expected, "the scheduled run reports the month before it"
        assert Path(written.directory) == directory / f"monthly-{expected.label}"
        assert (Path(written.directory) / "report.pdf").is_file()
    finally:
        for handle in handles.values():
            await handle.delete()
