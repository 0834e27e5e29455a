"""The monthly report counts each intake channel's cases: taken in during the month, placed by hand, and closed
(on time) in it, whenever taken in. On the seeded March 2026 of tests/reports/seed.py."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.intake import IntakeRepository
from schemas.reports import ChannelVolume, ReportKind, ReportPeriod, ScoreWeights
from services.reports import markdown, tables
from services.reports.figures import ReportOptions, read_figures
from tests.reports.seed import MONTH, at, seed_month

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)

# channel, record, case of the seed, taken in, placed
RECORDS = (
    ("12345", "WO-1", "C1", at(3, 2), True),  # closed on time in March
    ("12345", "WO-2", "C2", at(3, 3), True),  # closed late in March
    ("12345", "WO-3", "C3", at(3, 4), False),  # open, placed by hand
    ("12345", "WO-0", "C6", at(1, 5), True),  # January's, closed in February: not March's
    ("YFK", "YFK-1", "C5", at(3, 16), True),  # closed on time in March
)


async def test_the_report_counts_each_channels_cases(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_month(sessions)
    async with sessions.begin() as session:
        for channel, record, case_id, taken, placed in RECORDS:
            IntakeRepository(session).add_record(
                channel_code=channel,
                record_number=record,
                case_id=case_id,
                matter_code="SQ-QD-DFP",
                locality_code="SQ-SCQ",
                placed=placed,
                unplaced_reason=None if placed else "category '9999' maps to no matter of channel 12345",
                verification_code="ABCDEFGH",
                received_at=taken,
                created_at=taken,
            )
    figures = await read_figures(
        sessions, ReportPeriod.parse(ReportKind.MONTHLY, MONTH), ReportOptions(ScoreWeights(), 5), NOW
    )
    assert figures.channels == [
        ChannelVolume(code="12345", name="12345政務服務便民熱線工單", taken_in=3, unplaced=1, closed=2, on_time=1),
        ChannelVolume(code="YFK", name="單用途預付卡投訴與一鍵維權", taken_in=1, unplaced=0, closed=1, on_time=1),
    ]
    table = tables.channels(figures)
    assert table in tables.all_tables(figures)
    assert table.csv().splitlines()[1] == "12345,12345政務服務便民熱線工單,3,1,2,1"
    assert "## Intake channels (渠道)" in markdown.render(figures)


async def test_a_month_without_channel_records_shows_none(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_month(sessions)
    figures = await read_figures(
        sessions, ReportPeriod.parse(ReportKind.MONTHLY, MONTH), ReportOptions(ScoreWeights(), 5), NOW
    )
    assert figures.channels == []
    assert "## Intake channels (渠道)\n\nRecords" in markdown.render(figures)
