"""The ledger (service and activities) on SQLite and PostgreSQL: the audit trail under retries, read models, cards,
scores, ratings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.handoff.records import HandoffStoreActivities
from activities.ledger import LedgerActivities
from activities.store.ledger.audit import AuditRecord
from activities.store.ledger.cases import CaseRecordRepository
from activities.store.ledger.handoffs import HandoffRecordRepository
from activities.store.ledger.scores import ScoreEvent, ScoreEventRepository
from schemas.handoff import HandoffWrites, StoreWrite
from schemas.ledger import (
    AuditEntry,
    AuditTrailQuery,
    CardIssue,
    CardLevel,
    CardReason,
    CardRevocation,
    CaseSnapshot,
    CaseTransition,
    HandoffSnapshot,
    HandoffTransition,
    RatingInput,
    RatingLevel,
    ScoreEventInput,
    ScoreKind,
    ScoreTotalsQuery,
    SubjectKind,
    SupervisionOrderSnapshot,
    SupervisionOrderStatus,
    SupervisionOrderTransition,
)
from services.errors import NotFound, Refused
from services.ledger import Ledger
from tests.support.commits import commits_of

Sessions = async_sessionmaker[AsyncSession]
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def entry(
    seq: int, subject: str = "SQ-FGW-2026-001", kind: SubjectKind = SubjectKind.CASE, **changes: object
) -> AuditEntry:
    values: dict[str, object] = {
        "subject_id": subject,
        "subject_kind": kind,
        "seq": seq,
        "actor": "COORDINATOR",
        "actor_id": "SQ-SPJ",
        "action": f"step-{seq}",
        "reason": None,
        "from_stage": None,
        "to_stage": None,
        "at": T0 + timedelta(hours=seq),
    }
    return AuditEntry.model_validate(values | changes)


def snapshot(stage: str, **changes: object) -> CaseSnapshot:
    values: dict[str, object] = {
        "case_id": "SQ-FGW-2026-001",
        "matter_code": "SQ-XM-YDBZ",
        "title": "用地指標未落實",
        "stage": stage,
        "lead_department": "SQ-ZRZYJ",
        "locality": "SQ-SHY",
        "opened_at": T0,
    }
    return CaseSnapshot.model_validate(values | changes)


async def rows(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_retried_audit_entry_is_written_once(sessions: Sessions) -> None:
    ledger = Ledger(sessions)
    first = await ledger.record_audit_entry(entry(1))
    retried = await ledger.record_audit_entry(entry(1))
    assert (first.recorded, retried.recorded) == (True, False)
    assert await rows(sessions, AuditRecord) == 1


async def test_concurrent_attempts_write_one_audit_row(sessions: Sessions) -> None:
    ledger = Ledger(sessions)
    results = await asyncio.gather(*(ledger.record_audit_entry(entry(7)) for _ in range(5)))
    assert sum(result.recorded for result in results) == 1
    assert await rows(sessions, AuditRecord) == 1


async def test_a_different_entry_under_a_taken_seq_is_refused(sessions: Sessions) -> None:
    ledger = Ledger(sessions)
    await ledger.record_audit_entry(entry(1))
    with pytest.raises(Refused) as refused:
        await ledger.record_audit_entry(entry(1, actor="LEAD_DEPT"))
    assert refused.value.error_type == "Rejected"
    assert "actor" in str(refused.value)
    trail = await ledger.audit_trail(AuditTrailQuery(subject_id="SQ-FGW-2026-001"))
    assert [e.actor for e in trail.entries] == ["COORDINATOR"]
    assert trail.entries[0].at == T0 + timedelta(hours=1) and trail.entries[0].at.tzinfo is not None


async def test_an_audit_row_keeps_the_credential_and_the_reason_for_acting_on_behalf(sessions: Sessions) -> None:
    ledger = Ledger(sessions)
    sent = entry(1, credential_id="jwt:sso.example:ops-7", on_behalf_reason="their system is down")
    await ledger.record_audit_entry(sent)
    await ledger.record_audit_entry(entry(2))
    trail = await ledger.audit_trail(AuditTrailQuery(subject_id="SQ-FGW-2026-001"))
    assert trail.entries == [sent, entry(2)]
    assert trail.entries[1].credential_id is None
    # The same transition retried under another credential is another transition: refused, not overwritten.
    with pytest.raises(Refused) as refused:
        await ledger.record_audit_entry(entry(1, credential_id="key:other"))
    assert "credential_id" in str(refused.value)


async def test_the_case_read_model_follows_transitions_and_ignores_retries(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run
    registered = CaseTransition(entry=entry(1, to_stage="REGISTERED"), case=snapshot("REGISTERED"))
    launched = CaseTransition(
        entry=entry(2, from_stage="REGISTERED", to_stage="LAUNCHED"),
        case=snapshot(
            "LAUNCHED",
            co_units=["SQ-STHJJ"],
            next_due_at=T0 + timedelta(days=1),
            next_due_step="sign",
            sla_colour="yellow",
        ),
    )
    assert (await run(ledger.record_case_transition, registered)).applied
    view = await run(ledger.record_case_transition, launched)
    assert (view.stage, view.version, view.applied) == ("LAUNCHED", 2, True)

    late = await run(ledger.record_case_transition, registered)  # a retry of the first, arriving last
    again = await run(ledger.record_case_transition, launched)

    assert (late.applied, again.applied) == (False, False)
    assert (late.stage, late.co_units, late.sla_colour) == ("LAUNCHED", ["SQ-STHJJ"], "yellow")
    assert late.next_due_at == T0 + timedelta(days=1)
    assert late.updated_at == T0 + timedelta(hours=2)
    assert await rows(sessions, AuditRecord) == 2
    async with sessions() as session:
        [listed] = await CaseRecordRepository(session).open_cases(locality="SQ-SHY")
        assert listed.case_id == "SQ-FGW-2026-001"


async def test_a_refused_transition_leaves_the_read_model_alone(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run
    await run(ledger.record_case_transition, CaseTransition(entry=entry(1), case=snapshot("REGISTERED")))
    clash = CaseTransition(entry=entry(1, action="other"), case=snapshot("ACCEPTED"))
    with pytest.raises(ApplicationError):
        await run(ledger.record_case_transition, clash)
    async with sessions() as session:
        record = await CaseRecordRepository(session).get("SQ-FGW-2026-001")
        assert record is not None and record.stage == "REGISTERED"


def test_a_transition_belongs_to_its_case() -> None:
    with pytest.raises(ValueError, match="audit entry of this case"):
        CaseTransition(entry=entry(1, subject="SQ-OTHER-1"), case=snapshot("REGISTERED"))


def card(card_id: str = "SQ-FGW-2026-001:sign:1:yellow", **changes: object) -> CardIssue:
    values: dict[str, object] = {
        "card_id": card_id,
        "subject_id": "SQ-FGW-2026-001",
        "subject_kind": SubjectKind.CASE,
        "department_code": "SQ-ZRZYJ",
        "level": CardLevel.YELLOW,
        "reason": CardReason.SIGN_OVERDUE,
        "step": "sign",
        "due_at": T0 + timedelta(days=1),
        "issued_at": T0 + timedelta(days=1),
    }
    return CardIssue.model_validate(values | changes)


async def test_a_card_is_recorded_once_with_its_score_event(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run
    first = await run(ledger.record_card, card())
    retried = await run(ledger.record_card, card())
    red = await run(
        ledger.record_card,
        card("SQ-FGW-2026-001:close:1:red", level=CardLevel.RED, step="close", issued_at=T0 + timedelta(days=9)),
    )

    assert (first.recorded, retried.recorded, red.recorded) == (True, False, True)
    async with sessions() as session:
        events = await ScoreEventRepository(session).for_department("SQ-ZRZYJ")
    assert [(e.kind, e.points) for e in events] == [("card_yellow", Decimal("-0.5")), ("card_red", Decimal(-2))]
    assert first.score_event_id == events[0].event_id

    with pytest.raises(ApplicationError) as refused:
        await run(ledger.record_card, card(department_code="SQ-SHY"))
    assert refused.value.type == "Rejected" and "department_code" in refused.value.message


async def test_revoking_a_card_takes_its_points_back_once(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run
    await run(ledger.record_card, card())
    revocation = CardRevocation(
        card_id=card().card_id, revoked_at=T0 + timedelta(days=3), revoked_by="SQ-SPJ", reason="申訴成立: 系統故障"
    )
    # Revoked by the case's own store write (case_record_changes), which calls the ledger service.
    service = Ledger(sessions)
    revoked = await service.revoke_card(revocation)
    again = await service.revoke_card(revocation)

    assert (revoked.recorded, again.recorded) == (True, False)
    assert again.revoked_at == T0 + timedelta(days=3) and again.revocation_reason == "申訴成立: 系統故障"
    totals = await service.score_totals(ScoreTotalsQuery(start=T0, end=T0 + timedelta(days=30)))
    assert [(d.department_code, d.points, d.events) for d in totals.departments] == [("SQ-ZRZYJ", Decimal(0), 2)]

    with pytest.raises(NotFound):
        await service.revoke_card(revocation.model_copy(update={"card_id": "no-such-card"}))


async def test_score_events_use_the_configured_weights_and_add_up_per_period(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions, score_weights={ScoreKind.ON_TIME_CLOSE: Decimal(2)})
    run = ActivityEnvironment().run

    def event(event_id: str, at: datetime, **changes: object) -> ScoreEventInput:
        values: dict[str, object] = {
            "event_id": event_id,
            "department_code": "SQ-FGW",
            "kind": ScoreKind.ON_TIME_CLOSE,
            "subject_id": event_id,
            "occurred_at": at,
        }
        return ScoreEventInput.model_validate(values | changes)

    march, april = datetime(2026, 3, 1, tzinfo=SHANGHAI), datetime(2026, 4, 1, tzinfo=SHANGHAI)
    assert (await run(ledger.record_score_event, event("close-1", march))).points == 2
    assert not (await run(ledger.record_score_event, event("close-1", march))).recorded
    await run(ledger.record_score_event, event("typical-1", march, kind=ScoreKind.TYPICAL_CASE, points=Decimal(-3)))
    await run(ledger.record_score_event, event("close-2", april))  # the next month
    with pytest.raises(ApplicationError) as unweighted:
        await run(ledger.record_score_event, event("redo-1", march, kind=ScoreKind.REDO))
    assert unweighted.value.type == "ValidationFailed"

    totals = await Ledger(sessions, score_weights={ScoreKind.ON_TIME_CLOSE: Decimal(2)}).score_totals(
        ScoreTotalsQuery(start=march, end=april)
    )
    assert [(d.department_code, d.points, d.events) for d in totals.departments] == [("SQ-FGW", Decimal(-1), 2)]
    assert await rows(sessions, ScoreEvent) == 3


async def test_a_bad_rating_counts_against_the_department_and_a_good_one_does_not(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run

    def rating(rating_id: str, level: RatingLevel) -> RatingInput:
        return RatingInput(
            rating_id=rating_id,
            case_id="SQ-FGW-2026-001",
            department_code="SQ-ZRZYJ",
            level=level,
            channel="sms",
            rated_at=T0 + timedelta(days=10),
        )

    good = await run(ledger.record_rating, rating("r-1", RatingLevel.BASICALLY_SATISFIED))
    bad = await run(ledger.record_rating, rating("r-2", RatingLevel.DISSATISFIED))
    again = await run(ledger.record_rating, rating("r-2", RatingLevel.DISSATISFIED))

    assert (good.bad, good.score_event_id) == (False, None)
    assert (bad.bad, bad.recorded, again.recorded) == (True, True, False)
    async with sessions() as session:
        events = await ScoreEventRepository(session).for_department("SQ-ZRZYJ")
    assert [(e.event_id, e.kind, e.points) for e in events] == [("rating:r-2", "bad_rating", Decimal(-1))]


async def test_a_supervision_order_moves_through_its_lifecycle(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run
    order_id = "SQ-FGW-2026-001/order-1"
    issued = SupervisionOrderSnapshot(
        order_id=order_id,
        case_id="SQ-FGW-2026-001",
        department_code="SQ-ZRZYJ",
        co_departments=["SQ-SHY"],
        level="L2",
        basis="closing report overdue",
        content="限期三個工作日內報送用地指標落實方案",
        status=SupervisionOrderStatus.ISSUED,
        deadline=T0 + timedelta(days=5),
        issued_at=T0 + timedelta(days=2),
    )
    kind = SubjectKind.SUPERVISION_ORDER

    def step(seq: int, order: SupervisionOrderSnapshot) -> SupervisionOrderTransition:
        return SupervisionOrderTransition(entry=entry(seq, subject=order_id, kind=kind), order=order)

    received = issued.model_copy(
        update={"status": SupervisionOrderStatus.RECEIVED, "received_at": T0 + timedelta(days=2, hours=3)}
    )
    await run(ledger.record_supervision_order, step(1, issued))
    view = await run(ledger.record_supervision_order, step(2, received))
    stale = await run(ledger.record_supervision_order, step(1, issued))

    assert (view.status, view.version, view.co_departments) == (SupervisionOrderStatus.RECEIVED, 2, ["SQ-SHY"])
    assert (stale.applied, stale.status) == (False, SupervisionOrderStatus.RECEIVED)
    assert stale.received_at == T0 + timedelta(days=2, hours=3)


def pushed_snapshot(handoff_id: str) -> HandoffSnapshot:
    """A hand-off's read model as its push leaves it, at T0."""
    return HandoffSnapshot(
        handoff_id=handoff_id,
        matter_code="SQ-SG-GGCSWS",
        direction="approval_to_supervision",
        stage="PUSHED",
        source_department="SQ-SPJ",
        target_department="SQ-SHY-WJJ",
        locality="SQ-SHY",
        created_at=T0,
        pushed_at=T0,
    )


async def test_a_handoff_record_follows_its_loop(sessions: Sessions) -> None:
    ledger = LedgerActivities(sessions)
    run = ActivityEnvironment().run
    handoff_id = "handoff-SQ-SG-GGCSWS-SQ-SPJ-2026-0001-a2s"
    pushed = pushed_snapshot(handoff_id)
    claimed = pushed.model_copy(update={"stage": "CLAIMED", "claimed_at": T0 + timedelta(hours=4)})
    kind = SubjectKind.HANDOFF
    await run(ledger.record_handoff_transition, HandoffTransition(entry=entry(1, handoff_id, kind), handoff=pushed))
    view = await run(
        ledger.record_handoff_transition, HandoffTransition(entry=entry(2, handoff_id, kind), handoff=claimed)
    )
    assert (view.stage, view.claimed_at, view.version) == ("CLAIMED", T0 + timedelta(hours=4), 2)
    assert view.updated_at.tzinfo == UTC


async def test_a_handoffs_writes_are_one_unit_of_work_once(sessions: Sessions) -> None:
    """A hand-off's store activity writes a batch's entries, its read model after the last, its card and score
    event together; a retried call writes nothing, counts no entry and leaves the model as the first left it."""
    store = HandoffStoreActivities(Ledger(sessions))
    handoff_id = "handoff-SQ-SG-GGCSWS-SQ-SPJ-2026-0002-a2s"
    pushed = pushed_snapshot(handoff_id)
    claimed = pushed.model_copy(update={"stage": "CLAIMED", "claimed_at": T0 + timedelta(hours=4)})
    kind = SubjectKind.HANDOFF
    red = card(f"{handoff_id}:claim:red", subject_id=handoff_id, level=CardLevel.RED, step="claim")
    batch = HandoffWrites(
        handoff_id=handoff_id,
        writes=[
            StoreWrite(transition=HandoffTransition(entry=entry(1, handoff_id, kind), handoff=pushed)),
            StoreWrite(transition=HandoffTransition(entry=entry(2, handoff_id, kind), handoff=claimed)),
            StoreWrite(card=red),
            StoreWrite(score=score(f"{handoff_id}:on-time", subject_id=handoff_id, kind=ScoreKind.ON_TIME_CLOSE)),
        ],
    )
    run = ActivityEnvironment().run

    first = await run(store.record_writes, batch)
    again = await run(store.record_writes, batch)

    assert (first.written, first.entries, again.entries) == (4, 2, 0)
    async with sessions() as session:
        record = await HandoffRecordRepository(session).get(handoff_id)
        events = await session.scalar(select(func.count()).select_from(ScoreEvent))
    assert record is not None
    view = record.to_view(True)
    assert (view.stage, view.version, view.claimed_at) == ("CLAIMED", 2, T0 + timedelta(hours=4))
    assert events == 2  # the card's own and the on-time score, once each


def score(event_id: str = "SQ-FGW-2026-001:redo:1", **changes: object) -> ScoreEventInput:
    values: dict[str, object] = {
        "event_id": event_id,
        "department_code": "SQ-ZRZYJ",
        "kind": ScoreKind.REDO,
        "subject_id": "SQ-FGW-2026-001",
        "occurred_at": T0 + timedelta(days=2),
    }
    return ScoreEventInput.model_validate(values | changes)


async def test_a_transitions_cards_and_scores_are_written_together_once(sessions: Sessions) -> None:
    """The batch a case's transition writes: each card once with its score event, each score event once; a retry
    writes nothing and answers nothing issued or recorded."""
    ledger = Ledger(sessions)
    cards = [card(), card("SQ-FGW-2026-001:close:1:red", level=CardLevel.RED, step="close")]
    async with ledger.unit_of_work() as session:
        issued, recorded = await ledger.record_cards_and_scores(cards, [score()], session)
    async with ledger.unit_of_work() as session:
        again = await ledger.record_cards_and_scores(cards, [score()], session)
    assert ([issue.card_id for issue in issued], recorded) == ([issue.card_id for issue in cards], 1)
    assert again == ([], 0)
    assert await rows(sessions, ScoreEvent) == 3  # two cards' events and the redo
    single = await ledger.record_card(cards[0])  # the one-card path finds the batch's row as its own
    assert single.recorded is False and single.score_event_id == "card:SQ-FGW-2026-001:sign:1:yellow"


async def test_a_different_card_or_score_under_a_taken_id_refuses_the_whole_batch(sessions: Sessions) -> None:
    ledger = Ledger(sessions)
    async with ledger.unit_of_work() as session:
        await ledger.record_cards_and_scores([card()], [score()], session)
    for cards, scores, field in (
        ([card(), card("SQ-FGW-2026-001:close:1:red")], [score(points=Decimal(-9))], "points"),
        ([card("SQ-FGW-2026-001:close:1:red"), card(step="close")], [], "step"),
    ):
        with pytest.raises(Refused) as refused:
            async with ledger.unit_of_work() as session:
                await ledger.record_cards_and_scores(cards, scores, session)
        assert field in str(refused.value)
    assert await rows(sessions, ScoreEvent) == 2  # nothing of a refused batch stayed


async def test_a_transitions_entries_are_one_insert_and_a_changed_retry_is_refused(sessions: Sessions) -> None:
    ledger = Ledger(sessions)
    transitions = [CaseTransition(entry=entry(seq), case=snapshot("REGISTERED")) for seq in (1, 2, 3)]
    assert await ledger.record_case_transitions(transitions) == [True, True, True]
    assert await ledger.record_case_transitions(transitions) == [False, False, False]
    fourth = CaseTransition(entry=entry(4), case=snapshot("REGISTERED"))
    assert await ledger.record_case_transitions([transitions[2], fourth]) == [False, True]
    changed = CaseTransition(entry=entry(2, actor="LEAD_DEPT"), case=snapshot("REGISTERED"))
    with pytest.raises(Refused, match="audit entry 2"):
        await ledger.record_case_transitions([changed, CaseTransition(entry=entry(5), case=snapshot("REGISTERED"))])
    assert await rows(sessions, AuditRecord) == 4  # the fifth went with the refused batch


async def test_handoffs_recording_side_by_side_share_a_transaction(sessions: Sessions) -> None:
    """A nightly batch of approval results starts many hand-offs at once: their store writes that arrive together
    commit in one transaction, each still whole."""
    store = HandoffStoreActivities(Ledger(sessions))
    ids = [f"handoff-SQ-SG-GGCSWS-SQ-SPJ-2026-01{n:02d}-a2s" for n in range(5)]
    batches = [
        HandoffWrites(
            handoff_id=handoff_id,
            writes=[
                StoreWrite(
                    transition=HandoffTransition(
                        entry=entry(1, handoff_id, SubjectKind.HANDOFF), handoff=pushed_snapshot(handoff_id)
                    )
                )
            ],
        )
        for handoff_id in ids
    ]
    with commits_of(sessions) as commits:
        recorded = await asyncio.gather(*(ActivityEnvironment().run(store.record_writes, each) for each in batches))

    assert [each.entries for each in recorded] == [1] * 5
    assert len(commits) < 5  # the first alone, the others in the next transaction
    async with sessions() as session:
        for handoff_id in ids:
            assert await HandoffRecordRepository(session).get(handoff_id) is not None
