"""The open-record indexes the metrics collector reads through: the migration makes them as the models declare
them, on SQLite and PostgreSQL, and the collector's query uses the case one."""

from __future__ import annotations

from sqlalchemy import text

from activities.store.db import create_engine
from tests.support.migrations import model_differences


async def test_the_open_record_indexes_match_their_models(store_url: str) -> None:
    assert await model_differences(store_url, "case_records") == []
    assert await model_differences(store_url, "handoff_records") == []
    engine = create_engine(store_url)
    try:
        async with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                plan = (
                    await connection.execute(
                        text(
                            "EXPLAIN QUERY PLAN SELECT stage, sla_colour, lead_department, locality, count(*) "
                            "FROM case_records WHERE closed_at IS NULL AND stage IN ('launched', 'in_progress') "
                            "GROUP BY stage, sla_colour, lead_department, locality"
                        )
                    )
                ).all()
                assert "ix_case_records_open" in repr(plan)
            else:
                names = (
                    await connection.scalars(
                        text("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_%_records_open'")
                    )
                ).all()
                assert sorted(names) == ["ix_case_records_open", "ix_handoff_records_open"]
    finally:
        await engine.dispose()
