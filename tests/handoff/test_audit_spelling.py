"""Migration 0016 rewrites the hand-offs' audit roles in the spelling cases use, and back, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from activities.store import migrate
from activities.store.db import create_engine

BEFORE = "0015_reconciliation_reports"
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
ROWS = [
    # (subject_id, subject_kind, seq, actor as a hand-off or a case wrote it before 0016)
    ("handoff-M-SQ-SPJ-R1-a2s", "handoff", 1, "ORIGINATOR"),
    ("handoff-M-SQ-SPJ-R1-a2s", "handoff", 2, "SYSTEM"),
    ("handoff-M-SQ-SPJ-R1-a2s", "handoff", 3, "COORDINATOR"),
    ("handoff-M-SQ-SPJ-R1-a2s:order:1", "supervision_order", 1, "SYSTEM"),
    ("case-SQ-HOTLINE~H1", "case", 1, "coordinator"),
]


async def _actors(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(sa.text("SELECT actor FROM audit_trail ORDER BY subject_id, seq"))
            return [row[0] for row in result]
    finally:
        await engine.dispose()


async def test_handoff_roles_are_lowercased_and_restored(store_url: str) -> None:
    await migrate.downgrade(store_url, BEFORE)
    engine = create_engine(store_url)
    async with engine.begin() as connection:
        for subject_id, kind, seq, actor in ROWS:
            await connection.execute(
                sa.text(
                    "INSERT INTO audit_trail (subject_id, subject_kind, seq, actor, action, at) "
                    "VALUES (:subject_id, :kind, :seq, :actor, 'moved', :at)"
                ),
                {"subject_id": subject_id, "kind": kind, "seq": seq, "actor": actor, "at": AT},
            )
    await engine.dispose()

    await migrate.upgrade(store_url)
    assert await _actors(store_url) == ["coordinator", "originator", "system", "coordinator", "system"]

    await migrate.downgrade(store_url, BEFORE)
    assert await _actors(store_url) == ["coordinator", "ORIGINATOR", "SYSTEM", "COORDINATOR", "SYSTEM"]
    await migrate.upgrade(store_url)
