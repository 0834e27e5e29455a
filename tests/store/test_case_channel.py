"""The case read model carries a channel case's channel and record number: written with every snapshot, and filled
in by the migration (0023_case_channel) for rows written before, from the intake records; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from activities.store import migrate
from activities.store.db import create_engine
from activities.store.intake import IntakeRepository
from activities.store.ledger.cases import CaseRecordRepository
from schemas.ledger import CaseSnapshot
from services.registry.sample import load_sample_registry_if_empty
from workers.collectors import read_store
from workers.resources import open_resources
from workers.settings import Settings

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def snapshot(case_id: str, **changes: object) -> CaseSnapshot:
    values: dict[str, object] = {
        "case_id": case_id,
        "matter_code": "SQ-12345-SZ",
        "title": "施工圍擋佔用道路",
        "stage": "REGISTERED",
        "locality": "SQ-SCQ",
        "opened_at": T0,
    }
    return CaseSnapshot.model_validate(values | changes)


async def test_rows_written_before_are_filled_from_the_intake_records(store_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store_url=store_url)  # type: ignore[call-arg]
    async with open_resources(settings) as resources:
        await load_sample_registry_if_empty(resources.sessions)
        async with resources.sessions.begin() as session:
            IntakeRepository(session).add_record(
                channel_code="12345",
                record_number="WO-1",
                case_id="case-SQ-12345~12345.WO-1",
                matter_code="SQ-12345-SZ",
                locality_code="SQ-SCQ",
                placed=True,
                verification_code="ABCDEFGH",
                received_at=T0,
                created_at=T0,
            )
            cases = CaseRecordRepository(session)
            await cases.save(snapshot("case-SQ-12345~12345.WO-1"), 1, T0)  # as a worker before the columns wrote it
            await cases.save(snapshot("case-SQ-FGW~2026-1", matter_code="SQ-XM-YDBZ"), 1, T0)
    await migrate.downgrade(store_url, "0022_handoff_sla_colour")
    await migrate.upgrade(store_url)
    async with open_resources(settings) as resources, resources.sessions() as session:
        cases = CaseRecordRepository(session)
        found = await cases.of_channel("12345", "WO-1")
        assert found is not None and found.case_id == "case-SQ-12345~12345.WO-1"
        assert [row.case_id for row in await cases.open_cases(channel="12345")] == ["case-SQ-12345~12345.WO-1"]
        other = await cases.get("case-SQ-FGW~2026-1")
        assert other is not None and (other.channel, other.channel_reference) == (None, None)


async def test_a_snapshot_writes_both(store_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store_url=store_url)  # type: ignore[call-arg]
    async with open_resources(settings) as resources:
        async with resources.sessions.begin() as session:
            case = snapshot("case-SQ-12345~12345.WO-2", stage="registered", channel="12345", channel_reference="WO-2")
            await CaseRecordRepository(session).save(case, 1, T0)
        async with resources.sessions() as session:
            row = await CaseRecordRepository(session).get("case-SQ-12345~12345.WO-2")
            assert row is not None and row.to_view().channel_reference == "WO-2"
    # The metrics collector counts open channel cases from the same columns.
    engine = create_engine(store_url)
    try:
        reading = await read_store(engine, T0)
    finally:
        await engine.dispose()
    assert reading.channel_cases == [("12345", "registered", "green", 1)]
