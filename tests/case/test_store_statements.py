"""A transition's store write is one unit of work of few statements: its audit entries, the case's read model once,
the rows of a kind in one INSERT, nothing read back (bench/README.md, lever 3). Counted on the store's engine, so a
change that adds statements to every command shows here."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.case.activities import CaseActivities
from activities.store.ledger.cases import CaseRecordRepository
from schemas.ledger import CardLevel, CardReason, ScoreKind
from services.clock.service import ClockService
from services.ledger import Ledger
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.parties import LEAD, START, new_case
from workflows.case import records
from workflows.case.effects import SYSTEM, Recorder


@contextmanager
def statements(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    """Every SQL statement the store's engine runs inside the block, and BEGIN for each transaction."""
    engine = sessions.kw["bind"].sync_engine
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    def begin(conn: Any) -> None:
        seen.append("BEGIN")

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "begin", begin)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "begin", begin)


async def test_a_two_entry_transition_is_one_insert_and_one_upsert(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await import_registry(sessions, [REGISTRY])
    state = new_case()
    rec = Recorder(state, START + timedelta(days=1))
    rec.record(SYSTEM, "commented", reason="on site")
    rec.record(SYSTEM, "commented", reason="again")
    changes = records.case_changes(state, records.pending(state, rec.effects, "comment"))
    case = CaseActivities(ClockService(sessions), Ledger(sessions), sessions)

    with statements(sessions) as first:
        written = await case.record_changes(changes)
    with statements(sessions) as again:
        repeated = await case.record_changes(changes)  # a retried attempt: nothing new

    assert (written.entries, repeated.entries) == (2, 0)
    assert first == ["BEGIN", "INSERT", "INSERT"]  # both audit rows in one insert, the read model once; no read-back
    assert again[:3] == ["BEGIN", "INSERT", "SELECT"]  # the repeat finds the first row as written, and compares


async def test_a_red_card_is_one_transaction(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_registry(sessions, [REGISTRY])
    state = new_case()
    rec = Recorder(state, START + timedelta(days=3))
    rec.record(SYSTEM, "card_red")
    rec.card(LEAD, CardLevel.RED, CardReason.DEADLINE_OVERDUE, None)
    rec.score(LEAD, ScoreKind.REDO, "late")
    changes = records.case_changes(state, records.pending(state, rec.effects, None))
    case = CaseActivities(ClockService(sessions), Ledger(sessions), sessions)

    with statements(sessions) as seen:
        written = await case.record_changes(changes)
    with statements(sessions) as again:
        repeated = await case.record_changes(changes)  # a retried attempt finds every row and compares

    assert (written.entries, written.cards, written.scores) == (1, 1, 1)
    # The entry, the read model, the cards, every score event (the card's and the other): one commit, nothing read.
    assert seen == ["BEGIN", "INSERT", "INSERT", "INSERT", "INSERT"]
    assert (repeated.entries, repeated.cards, repeated.scores) == (0, 0, 0)
    assert again.count("BEGIN") == 1 and again.count("INSERT") == 4 and again.count("SELECT") == 3


def red_card(case_number: str) -> Any:
    """A case's red card at the 17:30 instant, as the store gets it: the entry, the card and its score event."""
    state = new_case(case_number=case_number)
    rec = Recorder(state, START + timedelta(days=3))
    rec.record(SYSTEM, "card_red")
    rec.card(LEAD, CardLevel.RED, CardReason.DEADLINE_OVERDUE, None)
    return records.case_changes(state, records.pending(state, rec.effects, None))


async def test_red_cards_recorded_side_by_side_share_their_statements(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """At the 17:30 instant the cards that arrive together are written in one statement per table, not four
    statements each (the first one arrives alone and is written at once)."""
    await import_registry(sessions, [REGISTRY])
    case = CaseActivities(ClockService(sessions), Ledger(sessions), sessions)
    changes = [red_card(f"2026-{number:04d}") for number in range(12)]

    with statements(sessions) as seen:
        written = await asyncio.gather(*(case.record_changes(each) for each in changes))

    assert [(each.entries, each.cards) for each in written] == [(1, 1)] * 12
    # However the arrivals fall into batches, each batch is four INSERTs in all: entries, read models, cards, scores.
    batches = seen.count("BEGIN")
    assert batches < 12 and seen == ["BEGIN", "INSERT", "INSERT", "INSERT", "INSERT"] * batches
    async with sessions() as session:  # each case's read model, written in the batch's one upsert
        for each in changes:
            row = await CaseRecordRepository(session).get(each.case.case_id)
            assert row is not None and (row.version, row.stage) == (each.entries[-1].seq, each.case.stage)


async def test_an_attempt_and_its_retry_side_by_side_count_their_card_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two attempts of one transition in one batch (a retry while the first still waits for the write): one of them
    writes the entry and issues the card, the other finds them written, as two writes in turn would."""
    await import_registry(sessions, [REGISTRY])
    case = CaseActivities(ClockService(sessions), Ledger(sessions), sessions)
    other, twice = red_card("2026-0001"), red_card("2026-0002")

    written = await asyncio.gather(*(case.record_changes(each) for each in (other, twice, twice)))

    assert [(each.entries, each.cards) for each in written] == [(1, 1), (1, 1), (0, 0)]
