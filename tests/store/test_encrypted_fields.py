"""Personal fields at rest: with a key, a dump of the store shows no name, phone, title, package or reason; the
repositories read them back; keys rotate; without a key they are marked clear until a key seals them; errors never
carry a statement's parameters. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import column, insert, select, table
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.store import migrate
from activities.store.base import AwareDateTime, SealedFieldRefused
from activities.store.db import create_engine, create_session_factory, reseal
from activities.store.delivery import InboxRepository
from activities.store.ledger.audit import AuditTrailRepository
from activities.store.ledger.cases import CaseRecordRepository
from activities.store.registry import Department, RegistryRepository, RosterEntry
from schemas.ledger import AuditEntry, CaseSnapshot, SubjectKind
from workers.codec import Keyring

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NAME = "王秀英"
PHONE = "13912345678"
TITLE = "王秀英家宅基地確權爭議"
PACKAGE = "身份證號 350203199001011234"
REASON = "王秀英本人來電撤回申請"
CLEAR_TEXT = (NAME, PHONE, TITLE, PACKAGE, REASON, "350203199001011234")
TABLES = ("roster", "case_records", "inbox", "audit_trail")


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def write_personal_data(engine: AsyncEngine, case_id: str = "case-1", role: str = "liaison") -> None:
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        if await session.get(Department, "SQ-SPJ") is None:
            session.add(Department(code="SQ-SPJ", name="審批局", level="city", updated_at=T0))
            await session.flush()
        session.add(RosterEntry(department_code="SQ-SPJ", role=role, person_name=NAME, phone=PHONE))
        snapshot = CaseSnapshot(
            case_id=case_id, matter_code="SQ-XM-YDBZ", title=TITLE, stage="registered", opened_at=T0
        )
        await CaseRecordRepository(session).save(snapshot, 1, T0)
        await InboxRepository(session).store(
            {
                "push_id": f"push-{case_id}",
                "department_code": "SQ-SPJ",
                "kind": "case_assignment",
                "subject_id": case_id,
                "issued_at": T0,
                "received_at": T0,
                "body": {"title": TITLE, "applicant": {"name": NAME, "id": PACKAGE}},
            }
        )
        entry = AuditEntry(
            subject_id=case_id,
            subject_kind=SubjectKind.CASE,
            seq=1,
            actor="COORDINATOR",
            action="withdraw",
            reason=REASON,
            on_behalf_reason=f"{NAME} asked by phone {PHONE}",
            at=T0,
        )
        await AuditTrailRepository(session).append(entry)


async def dump(engine: AsyncEngine) -> str:
    """Every row of the personal tables as the database hands them out, around SQLAlchemy's types."""
    async with engine.connect() as connection:
        rows = [row for table in TABLES for row in (await connection.exec_driver_sql(f"SELECT * FROM {table}")).all()]
    assert rows, "the tables hold rows"
    return repr(rows)


async def read_back(engine: AsyncEngine, case_id: str = "case-1") -> dict[str, Any]:
    async with create_session_factory(engine)() as session:
        roster = await RegistryRepository(session).roster_of("SQ-SPJ")
        record = await CaseRecordRepository(session).get(case_id)
        inbox = await InboxRepository(session).by_push_id(f"push-{case_id}")
        audit = await AuditTrailRepository(session).entries_for(case_id)
    assert record is not None and inbox is not None
    return {
        "people": {(entry.person_name, entry.phone) for entry in roster},
        "title": record.title,
        "body": inbox.body,
        "reasons": [(entry.reason, entry.on_behalf_reason) for entry in audit],
    }


EXPECTED = {
    "people": {(NAME, PHONE)},
    "title": TITLE,
    "body": {"title": TITLE, "applicant": {"name": NAME, "id": PACKAGE}},
    "reasons": [(REASON, f"{NAME} asked by phone {PHONE}")],
}


async def test_with_a_key_a_dump_shows_no_personal_text(store_url: str) -> None:
    engine = create_engine(store_url, keyring=Keyring.parse(f"k1:{new_key()}"))
    try:
        await write_personal_data(engine)
        dumped = await dump(engine)
        assert await read_back(engine) == EXPECTED
    finally:
        await engine.dispose()
    assert not [text for text in CLEAR_TEXT if text in dumped], dumped
    assert "enc1:k1:" in dumped


async def test_a_row_sealed_before_a_rotation_reads_after_it(store_url: str) -> None:
    k1, k2 = new_key(), new_key()
    before = create_engine(store_url, keyring=Keyring.single(k1))  # CASELOOP_ENCRYPTION_KEY: the derived id
    await write_personal_data(before)
    await before.dispose()

    rotated = create_engine(store_url, keyring=Keyring.parse(f"k2:{k2},{k1}"))
    try:
        assert await read_back(rotated) == EXPECTED
        await write_personal_data(rotated, case_id="case-2", role="backup")
        assert "enc1:k2:" in await dump(rotated)
        assert await reseal(rotated) == 4  # the first case's rows: roster, case record, inbox item, audit entry
        assert await reseal(rotated) == 0
    finally:
        await rotated.dispose()

    only_k2 = create_engine(store_url, keyring=Keyring.parse(f"k2:{k2}"))  # k1 retired after the reseal
    try:
        assert await read_back(only_k2) == EXPECTED
        assert await read_back(only_k2, case_id="case-2") == EXPECTED
    finally:
        await only_k2.dispose()


async def test_without_a_key_values_are_marked_clear_and_a_later_key_seals_them(store_url: str) -> None:
    development = create_engine(store_url, keyring=None)
    try:
        await write_personal_data(development)
        assert "clear:" + TITLE in await dump(development)
        assert await read_back(development) == EXPECTED
    finally:
        await development.dispose()

    keyed = create_engine(store_url, keyring=Keyring.parse(f"k1:{new_key()}"))
    try:
        assert await read_back(keyed) == EXPECTED, "a key reads what was written without one"
        assert await reseal(keyed) > 0
        dumped = await dump(keyed)
        assert await read_back(keyed) == EXPECTED
    finally:
        await keyed.dispose()
    assert not [text for text in CLEAR_TEXT if text in dumped]


async def test_a_value_sealed_under_a_key_that_is_gone_is_refused_by_its_key_id(store_url: str) -> None:
    sealing = create_engine(store_url, keyring=Keyring.parse(f"old:{new_key()}"))
    await write_personal_data(sealing)
    await sealing.dispose()
    for keyring in (Keyring.parse(f"new:{new_key()}"), None):
        engine = create_engine(store_url, keyring=keyring)
        try:
            with pytest.raises(SealedFieldRefused, match="key id 'old'"):
                await read_back(engine)
        finally:
            await engine.dispose()


def test_a_sealed_column_cannot_be_searched() -> None:
    with pytest.raises(TypeError, match="sealed"):
        select(RosterEntry).where(RosterEntry.phone == PHONE)
    select(RosterEntry).where(RosterEntry.phone.is_(None))  # only NULL tests make sense


async def test_errors_from_the_store_carry_no_parameter_values(store_url: str) -> None:
    engine = create_engine(store_url, keyring=None)  # clear-marked: the parameters would show the text itself
    try:
        await write_personal_data(engine)
        async with create_session_factory(engine).begin() as session:
            with pytest.raises(IntegrityError) as duplicate:  # one liaison per department and matter
                await session.execute(
                    insert(RosterEntry).values(department_code="SQ-SPJ", role="liaison", person_name=NAME, phone=PHONE)
                )
        async with create_session_factory(engine).begin() as session:
            with pytest.raises(StatementError) as naive:  # a naive instant is refused while binding
                session.add(Department(code="SQ-X", name=NAME, level="city", updated_at=datetime(2026, 1, 1)))
                await session.flush()
    finally:
        await engine.dispose()
    for error in (duplicate.value, naive.value):
        text = str(error)
        assert "parameters hidden" in text, text
        assert NAME not in text and PHONE not in text, text


async def test_the_migration_seals_what_was_stored_before_it_and_unseals_on_the_way_down(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    await migrate.downgrade(store_url, "0013_webhook_disabled")
    old = create_engine(store_url, keyring=None)
    async with old.begin() as connection:  # as the store held them before: in clear, unmarked
        await connection.execute(insert(Department).values(code="SQ-SPJ", name="審批局", level="city", updated_at=T0))
        roster = table("roster", *(column(name) for name in ("department_code", "role", "person_name", "phone")))
        await connection.execute(
            insert(roster).values(department_code="SQ-SPJ", role="liaison", person_name=NAME, phone=PHONE)
        )
        audit = table(
            "audit_trail",
            *(column(name) for name in ("subject_id", "subject_kind", "seq", "actor", "action", "reason")),
            column("at", AwareDateTime()),
        )
        await connection.execute(
            insert(audit).values(
                subject_id="case-1",
                subject_kind="case",
                seq=1,
                actor="COORDINATOR",
                action="withdraw",
                reason=REASON,
                at=T0,
            )
        )
    await old.dispose()

    monkeypatch.setenv("CASELOOP_ENCRYPTION_KEYS", f"k1:{key}")
    await migrate.upgrade(store_url)  # its engine takes the key from the environment, as `caseloop db upgrade`
    keyed = create_engine(store_url)
    try:
        async with keyed.connect() as connection:
            dumped = repr((await connection.exec_driver_sql("SELECT * FROM roster, audit_trail")).all())
        async with create_session_factory(keyed)() as session:
            people = [(e.person_name, e.phone) for e in await RegistryRepository(session).roster_of("SQ-SPJ")]
            reasons = [e.reason for e in await AuditTrailRepository(session).entries_for("case-1")]
    finally:
        await keyed.dispose()
    assert NAME not in dumped and PHONE not in dumped and REASON not in dumped
    assert (people, reasons) == ([(NAME, PHONE)], [REASON])

    await migrate.downgrade(store_url, "0013_webhook_disabled")
    old = create_engine(store_url, keyring=None)
    async with old.connect() as connection:
        row = (await connection.exec_driver_sql("SELECT person_name, phone FROM roster")).one()
    await old.dispose()
    assert tuple(row) == (NAME, PHONE)
    await migrate.upgrade(store_url)
