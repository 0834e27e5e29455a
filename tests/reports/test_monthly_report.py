"""The monthly report of a seeded month, on SQLite and PostgreSQL, against figures computed by hand
(tests/reports/seed.py): volumes, on-time rate, cards, escalations, hotspots, scores and ranking (default and local
weights), typical cases, open loops and the reconciliation; and its files: Markdown, CSV, PNG charts that decode, a
PDF that opens."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schemas.reports import ReportKind, ReportPeriod, ScoreWeights
from services.reports.figures import ReportOptions, read_figures
from services.reports.service import ReportService
from tests.reports.seed import (
    EXPECTED_DEPARTMENTS,
    EXPECTED_LOCALITIES,
    EXPECTED_TYPICAL,
    EXPECTED_WEIGHTED,
    LOCAL_WEIGHTS,
    MONTH,
    seed_month,
)

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAGES = 4  # cover; the two rankings; cards and hotspots; the tables


def pdf_pages(pdf: bytes) -> int:
    """The page count of the PDF's page tree, as matplotlib writes it."""
    found = re.search(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", pdf)
    assert found is not None, "the PDF has a page tree"
    return int(found.group(1))


def _rendered_pages(pdf: Path, prefix: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(prefix)], check=True, timeout=120)
    return sorted(prefix.parent.glob(f"{prefix.name}-*.png"))


def march() -> ReportPeriod:
    return ReportPeriod.parse(ReportKind.MONTHLY, MONTH)


async def test_the_figures_of_a_seeded_month_match_the_hand_computed_ones(sessions: Sessions) -> None:
    await seed_month(sessions)
    figures = await read_figures(sessions, march(), ReportOptions(ScoreWeights(), 5), NOW)

    v = figures.volumes
    assert (v.cases_opened, v.cases_closed, v.cases_open_at_end) == (4, 3, 2)
    assert (v.handoffs_created, v.handoffs_closed, v.handoffs_open_at_end) == (2, 1, 2)
    assert (figures.on_time.closed, figures.on_time.on_time, figures.on_time.late) == (3, 2, 1)
    assert figures.on_time.rate == Decimal("0.667")

    assert [(c.code, c.yellow, c.red, c.revoked) for c in figures.cards] == [
        ("SQ-FGW", 0, 1, 0),
        ("SQ-GXJ", 0, 1, 0),
        ("SQ-SPJ", 0, 1, 0),
        ("SQ-SCQ", 1, 0, 1),
        ("SQ-SHY", 1, 0, 0),
        ("SQ-SIY", 1, 0, 0),
    ], "February's yellow card to SQ-FGW is not March's"
    e = figures.escalations
    assert (e.reminder_notices, e.supervision_orders, e.circulars, e.admonitory_talks) == (2, 1, 1, 0)
    assert [(o.code, o.count) for o in e.orders_by_department] == [("SQ-FGW", 1)]

    assert [(h.code, h.cases_opened, h.red_cards, h.yellow_cards, h.late_closes, h.open_overdue) for h in
            figures.matter_hotspots] == [
        ("SQ-XM-SPSX", 1, 1, 1, 0, 1),
        ("SQ-XM-YNPF", 1, 1, 0, 1, 0),
        ("SQ-QY-JNT", 0, 1, 0, 0, 1),
        ("SQ-BHB-CK", 1, 0, 1, 0, 0),
        ("SQ-XM-YDBZ", 1, 0, 0, 0, 0),
    ]  # fmt: skip
    assert [h.code for h in figures.locality_hotspots] == ["SQ-SHY", "SQ-SIY", "SQ-SCQ"]

    assert [(u.rank, u.code, u.points) for u in figures.departments] == EXPECTED_DEPARTMENTS
    assert [(u.rank, u.code, u.points) for u in figures.localities] == EXPECTED_LOCALITIES
    assert all(u.points == u.recorded_points for u in figures.departments), "default weights: as recorded"
    spj = next(u for u in figures.departments if u.code == "SQ-SPJ")
    assert {k.value: n for k, n in spj.events.items()} == {"on_time_close": 1, "card_red": 1, "bad_rating": 1}
    assert spj.name == "宿遷市政務服務管理辦公室" or spj.name != spj.code, "named from the registry"

    assert [(t.kind.value, t.subject_id, t.department_code, t.working_days_late, t.still_open) for t in
            figures.typical_cases] == EXPECTED_TYPICAL  # fmt: skip
    assert figures.open_loops_total == 2
    assert [loop.handoff_id for loop in figures.open_loops] == ["H3", "H2"]
    assert figures.reconciliation is not None
    assert figures.reconciliation.open_past_limit == 1
    assert [(d.code, d.count) for d in figures.reconciliation.departments] == [("SQ-WJW", 1)]


async def test_a_localitys_weights_price_its_units_events(sessions: Sessions) -> None:
    await seed_month(sessions)
    weights = ScoreWeights.model_validate(LOCAL_WEIGHTS)
    figures = await read_figures(sessions, march(), ReportOptions(weights, 5), NOW)
    assert [(u.rank, u.code, u.points) for u in figures.departments] == EXPECTED_WEIGHTED
    shy = next(u for u in figures.departments if u.code == "SQ-SHY")
    assert shy.recorded_points == Decimal("-0.5"), "the ledger keeps what it recorded"


async def test_a_longer_delay_threshold_flags_fewer_delays(sessions: Sessions) -> None:
    await seed_month(sessions)
    figures = await read_figures(sessions, march(), ReportOptions(ScoreWeights(), 6), NOW)
    assert [(t.subject_id, t.working_days_late) for t in figures.typical_cases] == [("C3", None), ("C4", 18)]


async def test_the_report_files_are_written_and_readable(sessions: Sessions, tmp_path: Path) -> None:
    await seed_month(sessions)
    service = ReportService(sessions, tmp_path / "reports", ScoreWeights(), 5)
    written = await service.build(march(), NOW)
    directory = Path(written.directory)
    assert directory == tmp_path / "reports" / "monthly-2026-03"
    names = {file.name for file in written.files}
    assert {"report.md", "report.pdf", "volumes.csv", "departments.csv", "typical-cases.csv"} <= names
    for file in written.files:
        assert (directory / file.name).stat().st_size == file.bytes > 0

    text = (directory / "report.md").read_text()
    assert "# Monthly report (月度調度報告) 2026-03" in text
    assert "On-time rate **66.7%** (2 of 3 closed by the committed deadline)" in text
    assert "| 7 | SQ-FGW |" in text

    with (directory / "departments.csv").open() as table:
        rows = list(csv.DictReader(table))
    assert [(row["rank"], row["code"], row["points"]) for row in rows] == [
        (str(rank), code, f"{points:+}" if points else "0") for rank, code, points in EXPECTED_DEPARTMENTS
    ]
    volumes = dict(csv.reader(io.StringIO((directory / "volumes.csv").read_text())))
    assert (volumes["cases opened"], volumes["on-time rate"], volumes["typical cases"]) == ("4", "66.7%", "3")

    charts = [file.name for file in written.files if file.media_type == "image/png"]
    assert len(charts) == 6
    for name in charts:
        data = (directory / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            assert image.width >= 800 and image.height >= 250

    pdf = (directory / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_pages(pdf) == PAGES == pdf.count(b"/Type /Page ")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (Debian's poppler-utils) is not installed")
async def test_the_pdf_renders_page_by_page(sessions: Sessions, tmp_path: Path) -> None:
    await seed_month(sessions)
    written = await ReportService(sessions, tmp_path, ScoreWeights(), 5).build(march(), NOW)
    pdf = Path(written.directory) / "report.pdf"
    pages = await asyncio.to_thread(_rendered_pages, pdf, tmp_path / "page")
    assert len(pages) == PAGES
    for page in pages:
        with Image.open(page) as image:
            assert image.height > image.width, "A4 portrait"
