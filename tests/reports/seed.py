"""A month (March 2026) seeded in the store through the ledger, with the figures its report must show, by hand.

March 2026 has no statutory holiday: its working days are its weekdays. The sample registry (Suqian) names the
departments: SQ-SHY, SQ-SCQ and SQ-SIY are localities; SQ-ZRZYJ, SQ-FGW, SQ-SPJ and SQ-GXJ are city departments.

| case | matter      | lead     | locality | opened | committed deadline | closed   | note                           |
|------|-------------|----------|----------|--------|--------------------|----------|--------------------------------|
| C1   | SQ-XM-YDBZ  | SQ-ZRZYJ | SQ-SHY   | 03-02  | 03-10 17:30        | 03-09    | on time (+1)                   |
| C2   | SQ-XM-YNPF  | SQ-FGW   | SQ-SCQ   | 03-03  | 03-12 17:30        | 03-20    | late 6 WD: a delay; red, redo  |
| C3   | SQ-XM-SPSX  | SQ-SPJ   | SQ-SHY   | 03-04  | 03-25 17:30        | open     | 4 WD late at the end; red      |
| C4   | SQ-QY-JNT   | SQ-GXJ   | SQ-SIY   | 02-10  | 03-05 17:30        | open     | 18 WD late at the end; red     |
| C5   | SQ-BHB-CK   | SQ-SPJ   | SQ-SIY   | 03-16  | none               | 03-18    | on time (+1), rated bad (−1)   |
| C6   | SQ-XM-YDBZ  | SQ-ZRZYJ | SQ-SHY   | 01-05  | 01-30 17:30        | 02-20    | before the month               |
| C7   | SQ-XM-YDBZ  | SQ-ZRZYJ | SQ-SHY   | 04-02  | —                  | open     | after the month                |

Cards: red to SQ-FGW (C2), SQ-SPJ (C3), SQ-GXJ (C4); yellow improper return to SQ-SHY (C3, upheld: buck-passing);
yellow improper return to SQ-SCQ (C2, revoked on appeal 03-10); yellow sign overdue to SQ-SIY (C5); a yellow to
SQ-FGW in February (not this month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.handoff_events import HandoffReconciliation, ReconciledLoop, ReconciliationRepository
from schemas.clock import SHANGHAI
from schemas.ledger import (
    AuditEntry,
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
    SubjectKind,
    SupervisionOrderSnapshot,
    SupervisionOrderStatus,
    SupervisionOrderTransition,
)
from services.ledger import Ledger
from services.registry.sample import load_sample_registry_if_empty

MONTH = "2026-03"


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass(frozen=True)
class SeededCase:
    case_id: str
    matter: str
    lead: str
    locality: str
    opened: datetime
    deadline: datetime | None
    closed: datetime | None


CASES = (
    SeededCase("C1", "SQ-XM-YDBZ", "SQ-ZRZYJ", "SQ-SHY", at(3, 2), at(3, 10, 17, 30), at(3, 9, 15)),
    SeededCase("C2", "SQ-XM-YNPF", "SQ-FGW", "SQ-SCQ", at(3, 3), at(3, 12, 17, 30), at(3, 20, 10)),
    SeededCase("C3", "SQ-XM-SPSX", "SQ-SPJ", "SQ-SHY", at(3, 4), at(3, 25, 17, 30), None),
    SeededCase("C4", "SQ-QY-JNT", "SQ-GXJ", "SQ-SIY", at(2, 10), at(3, 5, 17, 30), None),
    SeededCase("C5", "SQ-BHB-CK", "SQ-SPJ", "SQ-SIY", at(3, 16), None, at(3, 18, 11)),
    SeededCase("C6", "SQ-XM-YDBZ", "SQ-ZRZYJ", "SQ-SHY", at(1, 5), at(1, 30, 17, 30), at(2, 20)),
    SeededCase("C7", "SQ-XM-YDBZ", "SQ-ZRZYJ", "SQ-SHY", at(4, 2), None, None),
)


def _entry(subject: str, kind: SubjectKind, seq: int, action: str, when: datetime) -> AuditEntry:
    return AuditEntry(subject_id=subject, subject_kind=kind, seq=seq, actor="SYSTEM", action=action, at=when)


def _card(card_id: str, case: str, department: str, level: CardLevel, reason: CardReason, when: datetime) -> CardIssue:
    return CardIssue(
        card_id=card_id,
        subject_id=case,
        subject_kind=SubjectKind.CASE,
        department_code=department,
        level=level,
        reason=reason,
        issued_at=when,
    )


async def seed_month(sessions: async_sessionmaker[AsyncSession]) -> None:
    await load_sample_registry_if_empty(sessions)
    ledger = Ledger(sessions)
    for case in CASES:
        snapshot = CaseSnapshot(
            case_id=case.case_id,
            matter_code=case.matter,
            title=f"seeded case {case.case_id}",
            stage="CLOSED" if case.closed else "IN_PROGRESS",
            lead_department=case.lead,
            locality=case.locality,
            opened_at=case.opened,
            committed_deadline=case.deadline,
            closed_at=case.closed,
        )
        entry = _entry(case.case_id, SubjectKind.CASE, 1, "launched", case.opened)
        await ledger.record_case_transition(CaseTransition(entry=entry, case=snapshot))

    yellow, red = CardLevel.YELLOW, CardLevel.RED
    for issue in (
        _card("K1", "C2", "SQ-FGW", red, CardReason.DEADLINE_OVERDUE, at(3, 12, 17, 30)),
        _card("K2", "C3", "SQ-SPJ", red, CardReason.DEADLINE_OVERDUE, at(3, 25, 17, 30)),
        _card("K3", "C4", "SQ-GXJ", red, CardReason.DEADLINE_OVERDUE, at(3, 5, 17, 30)),
        _card("K4", "C3", "SQ-SHY", yellow, CardReason.IMPROPER_RETURN, at(3, 5, 10)),
        _card("K5", "C2", "SQ-SCQ", yellow, CardReason.IMPROPER_RETURN, at(3, 4, 10)),
        _card("K6", "C5", "SQ-SIY", yellow, CardReason.SIGN_OVERDUE, at(3, 17, 17, 30)),
        _card("K7", "C4", "SQ-FGW", yellow, CardReason.COMMIT_OVERDUE, at(2, 27, 17, 30)),
    ):
        await ledger.record_card(issue)
    await ledger.revoke_card(
        CardRevocation(card_id="K5", revoked_at=at(3, 10), revoked_by="SQ-YSB", reason="the return was proper")
    )
    for event_id, department, kind, subject, when in (
        ("on-time:C1", "SQ-ZRZYJ", ScoreKind.ON_TIME_CLOSE, "C1", at(3, 9, 15)),
        ("on-time:C5", "SQ-SPJ", ScoreKind.ON_TIME_CLOSE, "C5", at(3, 18, 11)),
        ("redo:C2", "SQ-FGW", ScoreKind.REDO, "C2", at(3, 16)),
        ("on-time:C6", "SQ-ZRZYJ", ScoreKind.ON_TIME_CLOSE, "C6", at(2, 20)),
    ):
        await ledger.record_score_event(
            ScoreEventInput(
                event_id=event_id, department_code=department, kind=kind, subject_id=subject, occurred_at=when
            )
        )
    await ledger.record_rating(
        RatingInput(
            rating_id="R1", case_id="C5", department_code="SQ-SPJ", level=RatingLevel.DISSATISFIED, rated_at=at(3, 19)
        )
    )

    # The ladder: two reminder notices and a circular this month, one circular in April.
    for subject, seq, action, when in (
        ("C4", 2, "reminder_notice", at(3, 6, 9)),
        ("C4", 3, "circular", at(3, 12, 17, 30)),
        ("C2", 2, "reminder_notice", at(3, 13, 9)),
        ("C4", 4, "circular", at(4, 7, 9)),
    ):
        await ledger.record_audit_entry(_entry(subject, SubjectKind.CASE, seq, action, when))
    order = SupervisionOrderSnapshot(
        order_id="O1",
        case_id="C2",
        department_code="SQ-FGW",
        level="L2",
        content="Close the overdue case and answer this order.",
        status=SupervisionOrderStatus.ISSUED,
        deadline=at(3, 18, 17, 30),
        issued_at=at(3, 13, 10),
    )
    await ledger.record_supervision_order(
        SupervisionOrderTransition(
            entry=_entry("O1", SubjectKind.SUPERVISION_ORDER, 1, "issued", at(3, 13, 10)), order=order
        )
    )

    for handoff_id, created, closed, stage in (
        ("H1", at(3, 3), at(3, 6), "LOOP_CLOSED"),
        ("H2", at(3, 20), None, "PUSHED"),
        ("H3", at(2, 1), None, "CLAIMED"),
    ):
        handoff = HandoffSnapshot(
            handoff_id=handoff_id,
            matter_code="SQ-SG-GGCSWS",
            direction="approval_to_supervision",
            stage=stage,
            source_department="SQ-SPJ",
            target_department="SQ-WJW",
            created_at=created,
            closed_at=closed,
        )
        entry = _entry(handoff_id, SubjectKind.HANDOFF, 1, "pushed", created)
        await ledger.record_handoff_transition(HandoffTransition(entry=entry, handoff=handoff))

    async with sessions.begin() as session:
        await ReconciliationRepository(session).record(
            HandoffReconciliation(
                run_key="handoff-reconciliation-2026-04-01",
                as_of=at(4, 1),
                open_past_limit=1,
                report=None,
                recorded_at=at(4, 1),
            ),
            [
                ReconciledLoop(
                    department_code="SQ-WJW",
                    handoff_id="H3",
                    matter_code="SQ-SG-GGCSWS",
                    direction="approval_to_supervision",
                    stage="CLAIMED",
                    source_department="SQ-SPJ",
                    receiver_code="SQ-WJW",
                    end_to_end_due_at=at(2, 4, 17, 30),
                )
            ],
        )


# What the March report must show, computed by hand from the table above.
EXPECTED_DEPARTMENTS = [  # (rank, code, points)
    (1, "SQ-ZRZYJ", Decimal("1")),
    (2, "SQ-SCQ", Decimal("0")),
    (3, "SQ-SHY", Decimal("-0.5")),
    (3, "SQ-SIY", Decimal("-0.5")),
    (5, "SQ-GXJ", Decimal("-2")),
    (5, "SQ-SPJ", Decimal("-2")),
    (7, "SQ-FGW", Decimal("-3")),
]
EXPECTED_LOCALITIES = [(1, "SQ-SCQ", Decimal("0")), (2, "SQ-SHY", Decimal("-0.5")), (2, "SQ-SIY", Decimal("-0.5"))]
# With SQ-SHY and SQ-SCQ pricing a yellow card at −1: SQ-SHY's falls to −1, SQ-SCQ's revoked card still nets 0.
LOCAL_WEIGHTS = {"SQ-SHY": {"card_yellow": "-1"}, "SQ-SCQ": {"card_yellow": "-1"}}
EXPECTED_WEIGHTED = [
    (1, "SQ-ZRZYJ", Decimal("1")),
    (2, "SQ-SCQ", Decimal("0")),
    (3, "SQ-SIY", Decimal("-0.5")),
    (4, "SQ-SHY", Decimal("-1")),
    (5, "SQ-GXJ", Decimal("-2")),
    (5, "SQ-SPJ", Decimal("-2")),
    (7, "SQ-FGW", Decimal("-3")),
]
EXPECTED_TYPICAL = [  # (kind, case, department, working days late, still open)
    ("buck_passing", "C3", "SQ-SHY", None, False),
    ("delay", "C4", "SQ-GXJ", 18, True),
    ("delay", "C2", "SQ-FGW", 6, False),
]
