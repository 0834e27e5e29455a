"""The monthly report counts each scheduled delivery's expected days: on time, late, missing, still open, in its
Markdown, its CSV files and its PDF."""

from __future__ import annotations

import asyncio
import csv
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.collaboration import DeliveryDay
from schemas.reports import ReportKind, ReportPeriod, ScoreWeights
from services.reports.document import write_report
from services.reports.figures import ReportOptions, read_figures
from services.reports.markdown import render
from tests.support.department_world import sample_store
from workers.resources import open_resources
from workers.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    store = await sample_store(tmp_path)
    async with open_resources(Settings(data_dir=tmp_path, store_url=store)) as resources:
        yield resources.sessions


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _day(day: date, status: str, late: bool = False) -> DeliveryDay:
    return DeliveryDay(
        delivery_code="FGW-NCP-JG",
        day=day,
        deliverer="SQ-FGW",
        receiver="SQ-SCJGJ",
        status=status,
        due_at=datetime.combine(day, time(11), SHANGHAI),
        delivered_at=None,
        late=late,
        records=0,
        digest=None,
        rejections=0,
        version=2,
        updated_at=datetime.now(UTC),
    )


async def test_the_month_counts_delivered_late_missing_and_leaves_out_days_off(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions.begin() as session:
        session.add_all(
            [
                _day(date(2026, 10, 1), "not_expected"),  # National Day
                _day(date(2026, 10, 9), "delivered"),
                _day(date(2026, 10, 10), "delivered", late=True),  # the make-up Saturday
                _day(date(2026, 10, 12), "missing"),
                _day(date(2026, 10, 31), "overdue"),
                _day(date(2026, 11, 2), "delivered"),  # the next month
            ]
        )

    period = ReportPeriod.parse(ReportKind.MONTHLY, "2026-10")
    figures = await read_figures(sessions, period, ReportOptions(ScoreWeights(), 5), datetime.now(UTC))

    [month] = figures.scheduled_deliveries
    assert (month.expected, month.delivered, month.late, month.missing, month.open) == (4, 1, 1, 1, 1)
    markdown = render(figures)
    assert "## Scheduled deliveries (定時報送)" in markdown
    assert "| FGW-NCP-JG | SQ-FGW | SQ-SCJGJ | 4 | 1 | 1 | 1 | 1 |" in markdown

    written = {file.name for file in write_report(figures, tmp_path / "report")}
    assert {"report.md", "report.pdf", "scheduled-deliveries.csv"} <= written
    with (tmp_path / "report" / "scheduled-deliveries.csv").open(encoding="utf-8") as table:
        [row] = list(csv.reader(table))[1:]
    assert row == ["FGW-NCP-JG", "SQ-FGW", "SQ-SCJGJ", "4", "1", "1", "1", "1"]
    if shutil.which("pdftotext") is not None:  # Debian's poppler-utils, which `make test` installs
        text = await asyncio.to_thread(_pdf_text, tmp_path / "report" / "report.pdf")
        assert "Scheduled deliveries" in text
        assert "FGW-NCP-JG" in text


async def test_a_month_without_deliveries_writes_an_empty_table_and_no_pdf_section(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    period = ReportPeriod.parse(ReportKind.MONTHLY, "2026-09")
    figures = await read_figures(sessions, period, ReportOptions(ScoreWeights(), 5), datetime.now(UTC))

    write_report(figures, tmp_path / "report")
    with (tmp_path / "report" / "scheduled-deliveries.csv").open(encoding="utf-8") as table:
        assert list(csv.reader(table))[1:] == []
    assert "## Scheduled deliveries" not in render(figures)
    if shutil.which("pdftotext") is not None:
        text = await asyncio.to_thread(_pdf_text, tmp_path / "report" / "report.pdf")
        assert "Scheduled deliveries" not in text
