"""What the ledger holds about one period [start, end): the reads a monthly or quarterly report is built from.

Each read is bounded by the period and answers codes, ids and instants, never sealed text. Past periods are read from
today's read models: a case reopened since shows as open, as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.store.handoff_events import HandoffReconciliation, ReconciledLoop
from activities.store.ledger.audit import AuditRecord
from activities.store.ledger.cards import Card
from activities.store.ledger.cases import CaseRecord
from activities.store.ledger.handoffs import HandoffRecord
from activities.store.ledger.scores import ScoreEvent
from activities.store.ledger.supervision import SupervisionOrder

# The ladder's rungs as case and hand-off workflows name them in the audit trail.
LADDER_ACTIONS = ("reminder_notice", "circular", "admonitory_talk")


@dataclass(frozen=True)
class CaseFacts:
    case_id: str
    matter_code: str
    lead_department: str | None
    locality: str | None
    opened_at: datetime
    committed_deadline: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class CardFacts:
    card_id: str
    subject_id: str
    department_code: str
    level: str
    reason: str
    issued_at: datetime
    revoked_at: datetime | None
    matter_code: str | None
    locality: str | None


@dataclass(frozen=True)
class ScoreFacts:
    event_id: str
    department_code: str
    kind: str
    points: Decimal
    revoked_card_level: str | None  # for a revocation: the level of the card it takes back


@dataclass(frozen=True)
class HandoffFacts:
    handoff_id: str
    matter_code: str
    stage: str
    source_department: str
    target_department: str | None
    created_at: datetime
    closed_at: datetime | None
    next_due_at: datetime | None


@dataclass(frozen=True)
class ReconciliationFacts:
    report_id: int
    as_of: datetime
    open_past_limit: int
    departments: dict[str, int]


class PeriodRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def cases(self, start: datetime, end: datetime) -> list[CaseFacts]:
        """Cases opened before the end and not closed before the start: every case the period touched."""
        query = (
            select(
                CaseRecord.case_id,
                CaseRecord.matter_code,
                CaseRecord.lead_department,
                CaseRecord.locality,
                CaseRecord.opened_at,
                CaseRecord.committed_deadline,
                CaseRecord.closed_at,
            )
            .where(CaseRecord.opened_at < end, or_(CaseRecord.closed_at.is_(None), CaseRecord.closed_at >= start))
            .order_by(CaseRecord.opened_at, CaseRecord.case_id)
        )
        return [CaseFacts(*row) for row in (await self._session.execute(query)).all()]

    async def cards(self, start: datetime, end: datetime) -> list[CardFacts]:
        """Cards issued in the period, with the matter and locality of the case or hand-off they were issued on."""
        query = (
            select(
                Card.card_id,
                Card.subject_id,
                Card.department_code,
                Card.level,
                Card.reason,
                Card.issued_at,
                Card.revoked_at,
                func.coalesce(CaseRecord.matter_code, HandoffRecord.matter_code),
                func.coalesce(CaseRecord.locality, HandoffRecord.locality),
            )
            .outerjoin(CaseRecord, CaseRecord.case_id == Card.subject_id)
            .outerjoin(HandoffRecord, HandoffRecord.handoff_id == Card.subject_id)
            .where(Card.issued_at >= start, Card.issued_at < end)
            .order_by(Card.issued_at, Card.card_id)
        )
        return [CardFacts(*row) for row in (await self._session.execute(query)).all()]

    async def score_events(self, start: datetime, end: datetime) -> list[ScoreFacts]:
        # A revocation's event id is "card-revoked:<card id>" (services.ledger); its card says which kind it undoes.
        query = (
            select(ScoreEvent.event_id, ScoreEvent.department_code, ScoreEvent.kind, ScoreEvent.points, Card.level)
            .outerjoin(
                Card,
                and_(ScoreEvent.kind == "card_revoked", ScoreEvent.event_id == "card-revoked:" + Card.card_id),
            )
            .where(ScoreEvent.occurred_at >= start, ScoreEvent.occurred_at < end)
            .order_by(ScoreEvent.department_code, ScoreEvent.occurred_at, ScoreEvent.event_id)
        )
        return [
            ScoreFacts(event_id, department, kind, Decimal(points), level)
            for event_id, department, kind, points, level in (await self._session.execute(query)).all()
        ]

    async def ladder_rungs(self, start: datetime, end: datetime) -> dict[str, int]:
        """Reminder notices, circulars and admonitory talks the ladders climbed in the period, by rung."""
        query = (
            select(AuditRecord.action, func.count())
            .where(AuditRecord.action.in_(LADDER_ACTIONS), AuditRecord.at >= start, AuditRecord.at < end)
            .group_by(AuditRecord.action)
        )
        return {action: count for action, count in (await self._session.execute(query)).all()}

    async def orders_by_department(self, start: datetime, end: datetime) -> dict[str, int]:
        query = (
            select(SupervisionOrder.department_code, func.count())
            .where(SupervisionOrder.issued_at >= start, SupervisionOrder.issued_at < end)
            .group_by(SupervisionOrder.department_code)
            .order_by(SupervisionOrder.department_code)
        )
        return {code: count for code, count in (await self._session.execute(query)).all()}

    async def handoffs(self, start: datetime, end: datetime) -> list[HandoffFacts]:
        """Hand-offs created before the end and not closed before the start."""
        query = (
            select(
                HandoffRecord.handoff_id,
                HandoffRecord.matter_code,
                HandoffRecord.stage,
                HandoffRecord.source_department,
                HandoffRecord.target_department,
                HandoffRecord.created_at,
                HandoffRecord.closed_at,
                HandoffRecord.next_due_at,
            )
            .where(
                HandoffRecord.created_at < end,
                or_(HandoffRecord.closed_at.is_(None), HandoffRecord.closed_at >= start),
            )
            .order_by(HandoffRecord.created_at, HandoffRecord.handoff_id)
        )
        return [HandoffFacts(*row) for row in (await self._session.execute(query)).all()]

    async def reconciliation(self, start: datetime, end: datetime, grace: datetime) -> ReconciliationFacts | None:
        """The reconciliation that closes the period: the first run as of [end, grace), else the last in the period."""
        after = (
            select(HandoffReconciliation)
            .where(HandoffReconciliation.as_of >= end, HandoffReconciliation.as_of < grace)
            .order_by(HandoffReconciliation.as_of, HandoffReconciliation.id)
            .limit(1)
        )
        within = (
            select(HandoffReconciliation)
            .where(HandoffReconciliation.as_of >= start, HandoffReconciliation.as_of < end)
            .order_by(HandoffReconciliation.as_of.desc(), HandoffReconciliation.id.desc())
            .limit(1)
        )
        run = (await self._session.scalars(after)).first() or (await self._session.scalars(within)).first()
        if run is None:
            return None
        counts: dict[str, int] = {}
        if run.report is not None:  # recorded as one document, before loops got rows
            counts = {d["department_code"]: len(d.get("loops", [])) for d in run.report.get("departments", [])}
        else:
            query = (
                select(ReconciledLoop.department_code, func.count())
                .where(ReconciledLoop.reconciliation_id == run.id)
                .group_by(ReconciledLoop.department_code)
                .order_by(ReconciledLoop.department_code)
            )
            counts = {code: count for code, count in (await self._session.execute(query)).all()}
        return ReconciliationFacts(run.id, run.as_of, run.open_past_limit, counts)
