"""The personal and free text sealed by 0026_seal_more: with a key, the raw rows hold none of it and the repositories
and views read it back; rows stored before the migration are sealed by it and read the same; on the way down they
are clear again. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, Numeric, column, insert, table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from activities.store import migrate
from activities.store.base import AwareDateTime
from activities.store.db import create_engine, create_session_factory
from activities.store.handoff_events import HandoffEvent, HandoffEventRepository, HandoffStartRow
from activities.store.idempotency import IdempotencyRepository
from activities.store.ledger.cards import Card, CardRepository
from activities.store.ledger.meetings import JointMeetingRepository
from activities.store.ledger.ratings import Rating, RatingRepository
from activities.store.ledger.scores import ScoreEvent, ScoreEventRepository
from activities.store.ledger.supervision import SupervisionOrderRepository
from schemas.ledger import JointMeetingSnapshot, SupervisionOrderSnapshot
from workers.codec import Keyring
from workers.door.idempotency import Answer, Idempotency

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NAME = "王秀英"
ID_NUMBER = "350203199001011234"
PHONE = "13912345678"
BEFORE = "0025_joint_orders"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def keyed(store_url: str) -> AsyncEngine:
    return create_engine(store_url, keyring=Keyring.parse(f"k1:{new_key()}"))


async def raw(engine: AsyncEngine, table_name: str) -> str:
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(f"SELECT * FROM {table_name}")).all()
    assert rows, f"{table_name} holds rows"
    return repr(rows)


def assert_sealed(dumped: str) -> None:
    assert not [text for text in (NAME, ID_NUMBER, PHONE) if text in dumped], dumped
    assert "enc1:k1:" in dumped, dumped


async def in_session(engine: AsyncEngine, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with create_session_factory(engine).begin() as session:
        return await work(session)


# Hand-off starts: the event's payload and the approval record travel in the start.

START = {
    "handoff_id": "h-1",
    "event": {"reference": "SPJ-2026-001", "payload": {"applicant": NAME, "id_number": ID_NUMBER}},
    "approval": {"approved_by": "SQ-SPJ", "record": f"{NAME} {PHONE}"},
}


async def write_handoff_start(session: AsyncSession) -> None:
    event = HandoffEvent(
        event_key="SQ-SPJ|approved|SPJ-2026-001",
        source_department="SQ-SPJ",
        event="approved",
        reference="SPJ-2026-001",
        occurred_at=T0,
        received_at=T0,
        admitted_by="run-1",
        outcome="started",
    )
    start = HandoffStartRow(
        handoff_id="h-1",
        thread_id="h-1",
        matter_code="SQ-XM-YDBZ",
        direction="forward",
        source_department="SQ-SPJ",
        receiver_code="SQ-ZJJ",
        end_to_end_due_at=T0 + timedelta(days=20),
        started_at=T0,
        start=START,
    )
    await HandoffEventRepository(session).record(event, [start])


async def read_handoff_start(session: AsyncSession) -> Any:
    repository = HandoffEventRepository(session)
    stored = await repository.get("SQ-SPJ|approved|SPJ-2026-001")  # what a repeated report answers from
    assert stored is not None
    thread = await repository.thread("h-1")
    overdue = await repository.open_past_limit(T0 + timedelta(days=30))  # the reconciliation's query
    return [row.start for row in stored.handoffs] + [row.start for row in thread] + [row.start for row, _ in overdue]


async def test_a_handoff_start_is_sealed_and_reads_back(store_url: str) -> None:
    engine = keyed(store_url)
    try:
        await in_session(engine, write_handoff_start)
        assert_sealed(await raw(engine, "handoff_starts"))
        assert await in_session(engine, read_handoff_start) == [START, START, START]
    finally:
        await engine.dispose()


async def insert_old_handoff_start(connection: Any) -> None:
    """As 0024 stored it: the start as a JSON column, in clear."""
    events = table(
        "handoff_events",
        *(column(n) for n in ("id", "event_key", "source_department", "event", "reference", "admitted_by", "outcome")),
        column("occurred_at", AwareDateTime()),
        column("received_at", AwareDateTime()),
    )
    await connection.execute(
        insert(events).values(
            id=1,
            event_key="SQ-SPJ|approved|SPJ-2026-001",
            source_department="SQ-SPJ",
            event="approved",
            reference="SPJ-2026-001",
            admitted_by="run-1",
            outcome="started",
            occurred_at=T0,
            received_at=T0,
        )
    )
    starts = table(
        "handoff_starts",
        *(column(n) for n in ("handoff_id", "event_id", "thread_id", "matter_code", "direction", "source_department")),
        column("end_to_end_due_at", AwareDateTime()),
        column("started_at", AwareDateTime()),
        column("start", JSON()),
    )
    await connection.execute(
        insert(starts).values(
            handoff_id="h-1",
            event_id=1,
            thread_id="h-1",
            matter_code="SQ-XM-YDBZ",
            direction="forward",
            source_department="SQ-SPJ",
            end_to_end_due_at=T0 + timedelta(days=20),
            started_at=T0,
            start=START,
        )
    )


# Supervision orders: the basis and the content are written by departments and leaders.

ORDER = {
    "order_id": "case-1/so-1",
    "case_id": "case-1",
    "department_code": "SQ-ZJJ",
    "co_departments": ["SQ-SPJ"],
    "level": "L2",
    "basis": f"市長批示：{NAME}反映的問題",
    "content": f"請於三日內聯繫{NAME}（{PHONE}）並答覆",
    "status": "issued",
    "deadline": T0 + timedelta(days=3),
    "issued_at": T0,
}


async def write_supervision_order(session: AsyncSession) -> None:
    repository = SupervisionOrderRepository(session)
    assert await repository.save(SupervisionOrderSnapshot.model_validate(ORDER), 1, T0)
    answered = ORDER | {"status": "answered", "answered_at": T0 + timedelta(days=1)}
    assert await repository.save(SupervisionOrderSnapshot.model_validate(answered), 2, T0 + timedelta(days=1))


async def read_supervision_order(session: AsyncSession) -> Any:
    repository = SupervisionOrderRepository(session)
    stored = await repository.get("case-1/so-1")
    assert stored is not None
    views = [stored.to_view()] + [order.to_view() for order in await repository.for_case("case-1")]
    return [(view.basis, view.content) for view in views]


async def test_a_supervision_order_is_sealed_and_reads_back(store_url: str) -> None:
    engine = keyed(store_url)
    try:
        await in_session(engine, write_supervision_order)
        assert_sealed(await raw(engine, "supervision_orders"))
        assert await in_session(engine, read_supervision_order) == [(ORDER["basis"], ORDER["content"])] * 2
    finally:
        await engine.dispose()


async def insert_old_supervision_order(connection: Any) -> None:
    orders = table(
        "supervision_orders",
        *(column(n) for n in ("order_id", "case_id", "department_code", "level", "basis", "content", "status")),
        *(column(n) for n in ("version",)),
        column("co_departments", JSON()),
        *(column(n, AwareDateTime()) for n in ("deadline", "issued_at", "updated_at")),
    )
    values = {k: v for k, v in ORDER.items() if k in orders.c}
    await connection.execute(insert(orders).values(values | {"version": 1, "updated_at": T0}))


# Ratings: the requester's comment.

COMMENT = f"辦事員對{NAME}態度很差，電話{PHONE}無人接"


async def write_rating(session: AsyncSession) -> None:
    rating = Rating(
        rating_id="r-1", case_id="case-1", department_code="SQ-ZJJ", level="very_dissatisfied", comment=COMMENT
    )
    rating.rated_at = T0
    written, stored = await RatingRepository(session).add(rating)
    assert written and stored.comment == COMMENT


async def read_rating(session: AsyncSession) -> Any:
    return [rating.comment for rating in await RatingRepository(session).for_case("case-1")]


async def test_a_rating_comment_is_sealed_and_reads_back(store_url: str) -> None:
    engine = keyed(store_url)
    try:
        await in_session(engine, write_rating)
        assert_sealed(await raw(engine, "ratings"))
        assert await in_session(engine, read_rating) == [COMMENT]
    finally:
        await engine.dispose()


async def insert_old_rating(connection: Any) -> None:
    ratings = table(
        "ratings",
        *(column(n) for n in ("rating_id", "case_id", "department_code", "level", "comment")),
        column("rated_at", AwareDateTime()),
    )
    await connection.execute(
        insert(ratings).values(
            rating_id="r-1",
            case_id="case-1",
            department_code="SQ-ZJJ",
            level="very_dissatisfied",
            comment=COMMENT,
            rated_at=T0,
        )
    )


# The front door's Idempotency-Key answers: a retry is answered from the stored answer, which may echo the request.

ANSWER = {"case_id": "case-1", "title": f"{NAME}家宅基地確權爭議", "applicant": {"phone": PHONE}}


class Clock:
    def __call__(self) -> datetime:
        return T0


async def test_an_idempotent_answer_is_sealed_and_answers_the_retry(store_url: str) -> None:
    engine = keyed(store_url)
    keys = Idempotency(
        engine,
        problem_base="https://caseloop.invalid/problems/",
        retention=timedelta(hours=24),
        stale_after=timedelta(seconds=60),
        clock=Clock(),
    )
    sent: list[str] = []

    async def work(key: str) -> Answer:
        sent.append(key)
        return Answer(201, ANSWER)

    try:
        first = await keys.run("SQ-YSB", "k1", "f1", work)
        assert first.background is not None
        await first.background()  # the record, written once the answer is sent
        assert_sealed(await raw(engine, "idempotency_keys"))
        again = await keys.run("SQ-YSB", "k1", "f1", work)
    finally:
        await engine.dispose()
    assert sent == ["k1"] and again.headers["idempotent-replayed"] == "true"
    assert (again.status_code, json.loads(again.body)) == (first.status_code, json.loads(first.body)) == (201, ANSWER)


async def insert_old_answer(connection: Any) -> None:
    keys = table(
        "idempotency_keys",
        *(column(n) for n in ("department", "key", "fingerprint", "state", "status", "media_type", "body")),
        *(column(n, AwareDateTime()) for n in ("created_at", "expires_at")),
    )
    await connection.execute(
        insert(keys).values(
            department="SQ-YSB",
            key="k1",
            fingerprint="f1",
            state="completed",
            status=201,
            media_type="application/json",
            body=json.dumps(ANSWER, ensure_ascii=False),
            created_at=T0,
            expires_at=T0 + timedelta(hours=24),
        )
    )


async def read_answer(session: AsyncSession) -> Any:
    row = await IdempotencyRepository(session).get("SQ-YSB", "k1")
    assert row is not None and row.body is not None
    return json.loads(row.body)


# Leaders' joint meetings: the basis and the outcome.

MEETING = {
    "meeting_id": "case-1/m-1",
    "case_id": "case-1",
    "departments": ["SQ-ZJJ", "SQ-SPJ"],
    "basis": f"{NAME}（{PHONE}）反映的宅基地爭議逾期未結",
    "requested_at": T0,
}
OUTCOME = f"由住建局牽頭，三日內答覆{NAME}"


async def write_meeting(session: AsyncSession) -> None:
    repository = JointMeetingRepository(session)
    assert await repository.save(JointMeetingSnapshot.model_validate(MEETING), 1, T0)
    decided = MEETING | {"outcome": OUTCOME, "decided_at": T0 + timedelta(days=1), "decided_by": "leaders"}
    assert await repository.save(JointMeetingSnapshot.model_validate(decided), 2, T0 + timedelta(days=1))


async def read_meeting(session: AsyncSession) -> Any:
    return [(m.to_view().basis, m.to_view().outcome) for m in await JointMeetingRepository(session).for_case("case-1")]


async def test_a_joint_meeting_is_sealed_and_reads_back(store_url: str) -> None:
    engine = keyed(store_url)
    try:
        await in_session(engine, write_meeting)
        assert_sealed(await raw(engine, "joint_meetings"))
        assert await in_session(engine, read_meeting) == [(MEETING["basis"], OUTCOME)]
    finally:
        await engine.dispose()


async def insert_old_meeting(connection: Any) -> None:
    meetings = table(
        "joint_meetings",
        *(column(n) for n in ("meeting_id", "case_id", "basis", "outcome", "version")),
        column("departments", JSON()),
        *(column(n, AwareDateTime()) for n in ("requested_at", "updated_at")),
    )
    await connection.execute(insert(meetings).values(MEETING | {"outcome": OUTCOME, "version": 2, "updated_at": T0}))


# Cards: why a coordinator revoked one.

REVOCATION = f"{NAME}已於期限內當面答覆，電話{PHONE}可查"
CARD = {
    "card_id": "card-1",
    "subject_id": "case-1",
    "subject_kind": "case",
    "department_code": "SQ-ZJJ",
    "level": "yellow",
    "reason": "overdue",
    "issued_at": T0,
    "points": Decimal("-1.00"),
    "score_event_id": "card:card-1",
}


async def write_card(session: AsyncSession) -> None:
    repository = CardRepository(session)
    await repository.add(Card(**CARD))
    assert await repository.revoke("card-1", T0 + timedelta(days=1), "SQ-DCS", REVOCATION)


async def read_card(session: AsyncSession) -> Any:
    return [card.revocation_reason for card in await CardRepository(session).for_subject("case-1")]


async def test_a_card_revocation_reason_is_sealed_and_reads_back(store_url: str) -> None:
    engine = keyed(store_url)
    try:
        await in_session(engine, write_card)
        assert_sealed(await raw(engine, "cards"))
        assert await in_session(engine, read_card) == [REVOCATION]
    finally:
        await engine.dispose()


async def insert_old_card(connection: Any) -> None:
    cards = table(
        "cards",
        *(column(n) for n in CARD if n not in ("issued_at", "points")),
        column("points", Numeric(8, 2)),
        *(column(n) for n in ("revoked_by", "revocation_reason")),
        *(column(n, AwareDateTime()) for n in ("issued_at", "revoked_at")),
    )
    await connection.execute(
        insert(cards).values(CARD | {"revoked_at": T0, "revoked_by": "SQ-DCS", "revocation_reason": REVOCATION})
    )


# Score events: a note a department writes with an event it records.

NOTE = f"{NAME}投訴電話{PHONE}未接通"
SCORE = {
    "event_id": "score-1",
    "department_code": "SQ-ZJJ",
    "kind": "complaint",
    "subject_id": "case-1",
    "occurred_at": T0,
    "points": Decimal("-2.00"),
    "note": NOTE,
}


async def write_score_event(session: AsyncSession) -> None:
    written, stored = await ScoreEventRepository(session).add(ScoreEvent(**SCORE))
    assert written and stored.note == NOTE


async def read_score_event(session: AsyncSession) -> Any:
    repository = ScoreEventRepository(session)
    totals = await repository.totals(T0, T0 + timedelta(days=1))
    return [event.note for event in await repository.for_department("SQ-ZJJ")], totals


async def test_a_score_note_is_sealed_and_reads_back(store_url: str) -> None:
    engine = keyed(store_url)
    try:
        await in_session(engine, write_score_event)
        assert_sealed(await raw(engine, "score_events"))
        assert await in_session(engine, read_score_event) == ([NOTE], [("SQ-ZJJ", Decimal("-2.00"), 1)])
    finally:
        await engine.dispose()


async def insert_old_score_event(connection: Any) -> None:
    events = table(
        "score_events",
        *(column(n) for n in ("event_id", "department_code", "kind", "subject_id", "note")),
        column("points", Numeric(8, 2)),
        column("occurred_at", AwareDateTime()),
    )
    await connection.execute(insert(events).values(SCORE))


OLD_ROWS: list[tuple[str, Callable[[Any], Awaitable[None]], Callable[[AsyncSession], Awaitable[Any]], Any]] = [
    ("handoff_starts", insert_old_handoff_start, read_handoff_start, [START, START, START]),
    (
        "supervision_orders",
        insert_old_supervision_order,
        read_supervision_order,
        [(ORDER["basis"], ORDER["content"])] * 2,
    ),
    ("ratings", insert_old_rating, read_rating, [COMMENT]),
    ("idempotency_keys", insert_old_answer, read_answer, ANSWER),
    ("joint_meetings", insert_old_meeting, read_meeting, [(MEETING["basis"], OUTCOME)]),
    ("cards", insert_old_card, read_card, [REVOCATION]),
    ("score_events", insert_old_score_event, read_score_event, ([NOTE], [("SQ-ZJJ", Decimal("-2.00"), 1)])),
]


async def test_the_migration_seals_rows_stored_before_it_and_unseals_them_on_the_way_down(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate.downgrade(store_url, BEFORE)
    old = create_engine(store_url, keyring=None)
    async with old.begin() as connection:
        for _, insert_old, _, _ in OLD_ROWS:
            await insert_old(connection)
    await old.dispose()

    key = new_key()
    monkeypatch.setenv("CASELOOP_ENCRYPTION_KEYS", f"k1:{key}")
    await migrate.upgrade(store_url)  # its engine takes the key from the environment, as `caseloop db upgrade`
    engine = create_engine(store_url)
    try:
        for table_name, _, read, expected in OLD_ROWS:
            assert_sealed(await raw(engine, table_name))
            assert await in_session(engine, read) == expected, table_name
    finally:
        await engine.dispose()

    await migrate.downgrade(store_url, BEFORE)
    old = create_engine(store_url, keyring=None)
    try:
        for table_name, _, _, _ in OLD_ROWS:
            dumped = await raw(old, table_name)
            assert "enc1:" not in dumped and PHONE in dumped, dumped
    finally:
        await old.dispose()
    await migrate.upgrade(store_url)
