"""Ledger activities: workflows record transitions, read models, cards, scores and ratings through `services.ledger`.

Each activity is one unit of work keyed by ids the workflow chose, so a retried attempt changes nothing the second
time; content that contradicts what is stored under the same key is refused (`Rejected`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.service_errors import as_application_errors
from schemas.ledger import (
    CardIssue,
    CardRecord,
    CaseRecordView,
    CaseTransition,
    HandoffRecordView,
    HandoffTransition,
    RatingInput,
    RatingRecorded,
    ScoreEventInput,
    ScoreEventRecorded,
    ScoreKind,
    SupervisionOrderTransition,
    SupervisionOrderView,
)
from services.ledger import DEFAULT_SCORE_WEIGHTS, Ledger


class LedgerActivities:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        score_weights: Mapping[ScoreKind, Decimal] = DEFAULT_SCORE_WEIGHTS,
    ) -> None:
        self._ledger = Ledger(session_factory, score_weights)

    @activity.defn(name="ledger_record_case_transition")
    async def record_case_transition(self, transition: CaseTransition) -> CaseRecordView:
        """The audit entry and the case's read model after it, together or not at all."""
        with as_application_errors():
            return await self._ledger.record_case_transition(transition)

    @activity.defn(name="ledger_record_handoff_transition")
    async def record_handoff_transition(self, transition: HandoffTransition) -> HandoffRecordView:
        with as_application_errors():
            return await self._ledger.record_handoff_transition(transition)

    @activity.defn(name="ledger_record_supervision_order")
    async def record_supervision_order(self, transition: SupervisionOrderTransition) -> SupervisionOrderView:
        """An order issued, received, answered or lifted: its audit entry and its current state."""
        with as_application_errors():
            return await self._ledger.record_supervision_order(transition)

    @activity.defn(name="ledger_record_card")
    async def record_card(self, issue: CardIssue) -> CardRecord:
        """The card and the score event it becomes, in one unit of work."""
        with as_application_errors():
            return await self._ledger.record_card(issue)

    @activity.defn(name="ledger_record_score_event")
    async def record_score_event(self, event: ScoreEventInput) -> ScoreEventRecorded:
        """On-time closes, redos, typical cases; cards and bad ratings record theirs themselves."""
        with as_application_errors():
            return await self._ledger.record_score_event(event)

    @activity.defn(name="ledger_record_rating")
    async def record_rating(self, rating: RatingInput) -> RatingRecorded:
        """A follow-up rating; a bad one is also a score event against the rated department."""
        with as_application_errors():
            return await self._ledger.record_rating(rating)
