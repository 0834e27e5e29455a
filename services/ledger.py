"""The ledger: transitions with their audit entries, read models, cards, scores and ratings in the store.

Each call is one unit of work, and every write is keyed by an id or (subject, seq) that its caller chose, so a
retried or duplicated call changes nothing the second time. Content that contradicts what is stored under the same
key is refused (`Refused`): it means two different histories claim one transition.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.ledger.audit import AuditTrailRepository
from activities.store.ledger.cards import Card, CardRepository
from activities.store.ledger.cases import CaseRecordRepository
from activities.store.ledger.handoffs import HandoffRecordRepository
from activities.store.ledger.meetings import JointMeetingRepository
from activities.store.ledger.ratings import Rating, RatingRepository
from activities.store.ledger.scores import ScoreEvent, ScoreEventRepository
from activities.store.ledger.supervision import SupervisionOrderRepository
from schemas.ledger import (
    AuditEntry,
    AuditEntryRecorded,
    AuditTrail,
    AuditTrailQuery,
    CardIssue,
    CardLevel,
    CardReason,
    CardRecord,
    CardRevocation,
    CaseRecordView,
    CaseTransition,
    DepartmentScore,
    HandoffRecordView,
    HandoffTransition,
    JointMeetingSnapshot,
    JointMeetingView,
    RatingInput,
    RatingRecorded,
    ScoreEventInput,
    ScoreEventRecorded,
    ScoreKind,
    ScoreTotals,
    ScoreTotalsQuery,
    SubjectKind,
    SupervisionOrderTransition,
    SupervisionOrderView,
)
from services.errors import InvalidInput, NotFound, Refused

# Assessment weights are local policy (domain research §6.4; Guangyuan: −1 for a doubled yellow, −2 for red).
DEFAULT_SCORE_WEIGHTS: Mapping[ScoreKind, Decimal] = {
    ScoreKind.ON_TIME_CLOSE: Decimal(1),
    ScoreKind.CARD_YELLOW: Decimal("-0.5"),
    ScoreKind.CARD_RED: Decimal(-2),
    ScoreKind.REDO: Decimal(-1),
    ScoreKind.BAD_RATING: Decimal(-1),
    ScoreKind.TYPICAL_CASE: Decimal(-3),
    ScoreKind.CIRCULAR: Decimal(-1),
    ScoreKind.ADMONITORY_TALK: Decimal(-2),
}

_CARD_SCORE = {CardLevel.YELLOW: ScoreKind.CARD_YELLOW, CardLevel.RED: ScoreKind.CARD_RED}


def _conflict(what: str, differences: list[str]) -> Refused:
    return Refused(f"{what} is already recorded with different content ({', '.join(differences)})")


@dataclass(frozen=True)
class CaseWrite:
    """One transition's audit entries (each with the case after the transition), cards and score events: what a
    group commit writes beside other transitions' (`Ledger.record_case_writes`)."""

    transitions: Sequence[CaseTransition]
    cards: Sequence[CardIssue]
    scores: Sequence[ScoreEventInput]


@dataclass(frozen=True)
class CaseWritten:
    """Per entry whether this call wrote it, the cards it issued and how many of the score events it recorded."""

    entries: list[bool]
    cards: list[CardIssue]
    scores: int


def _card_event_id(card_id: str) -> str:
    """The id of the score event a card becomes."""
    return f"card:{card_id}"


def _repeated(writes: Sequence[CaseWrite]) -> bool:
    """Whether two of the writes carry an audit entry, a card or a score event under the same key (a card repeated
    repeats its score event)."""
    entries = [(t.entry.subject_id, t.entry.seq) for write in writes for t in write.transitions]
    cards = [_card_event_id(issue.card_id) for write in writes for issue in write.cards]
    events = cards + [event.event_id for write in writes for event in write.scores]
    return any(len(set(keys)) != len(keys) for keys in (entries, events))


def _differences(stored: Mapping[str, object], wanted: Mapping[str, object]) -> list[str]:
    return [key for key, value in wanted.items() if stored.get(key) != value]


def _checked(entry: AuditEntry, written: bool, stored: AuditEntry) -> bool:
    """Whether the entry was written now; a row already there must be the same entry (a retry), else a conflict."""
    if not written and stored != entry:
        differences = _differences(stored.model_dump(), entry.model_dump())
        raise _conflict(f"audit entry {entry.seq} of {entry.subject_id}", differences)
    return written


def _same_card(stored: Card, card: Card) -> None:
    """A card already stored under the id must be this one (a retry), else a conflict."""
    keys = ("subject_id", "department_code", "level", "reason", "step", "due_at", "issued_at", "points")
    differences = [key for key in keys if getattr(stored, key) != getattr(card, key)]
    if differences:
        raise _conflict(f"card {card.card_id}", differences)


def _same_score_event(stored: ScoreEvent, row: ScoreEvent) -> None:
    keys = ("department_code", "kind", "subject_id", "points")
    differences = [key for key in keys if getattr(stored, key) != getattr(row, key)]
    if differences:
        raise _conflict(f"score event {row.event_id}", differences)


def _card_record(card: Card, recorded: bool) -> CardRecord:
    return CardRecord(
        card_id=card.card_id,
        subject_id=card.subject_id,
        subject_kind=SubjectKind(card.subject_kind),
        department_code=card.department_code,
        level=CardLevel(card.level),
        reason=CardReason(card.reason),
        step=card.step,
        due_at=card.due_at,
        issued_at=card.issued_at,
        revoked_at=card.revoked_at,
        revoked_by=card.revoked_by,
        revocation_reason=card.revocation_reason,
        score_event_id=card.score_event_id,
        recorded=recorded,
    )


_State = TypeVar("_State", contravariant=True)
_View = TypeVar("_View", covariant=True)


class _ReadModelRow(Protocol[_View]):
    def to_view(self, applied: bool) -> _View: ...


class _ReadModelRepository(Protocol[_State, _View]):
    """What the case, hand-off and supervision-order repositories share: versioned save, then read back."""

    async def save(self, state: _State, seq: int, at: datetime) -> bool: ...

    async def get(self, key: str) -> _ReadModelRow[_View] | None: ...


@dataclass(frozen=True)
class MeetingWritten:
    """What writing a leaders' joint meeting did: changed its record; wrote its request, or its outcome, first."""

    changed: bool
    requested: bool
    decided: bool


class Ledger:
    """Every write and read of the ledger; the assessment weights price the score events it records."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        score_weights: Mapping[ScoreKind, Decimal] = DEFAULT_SCORE_WEIGHTS,
    ) -> None:
        self._sessions = session_factory
        self._weights = score_weights

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The store the ledger writes, for what reads beside it (the legal clock of the loop metrics)."""
        return self._sessions

    def _points(self, kind: ScoreKind, points: Decimal | None) -> Decimal:
        if points is not None:
            return points
        if kind not in self._weights:
            raise InvalidInput(f"score kind {kind.value} has no configured weight: give points")
        return self._weights[kind]

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One transaction that the record_* methods given its session join, instead of committing their own: a
        case transition's whole store write commits together or not at all."""
        return self._sessions.begin()

    @asynccontextmanager
    async def _unit(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        """The caller's unit of work (unit_of_work), or one of the method's own."""
        if session is not None:
            yield session
            return
        async with self._sessions.begin() as own:
            yield own

    @staticmethod
    async def _append(session: AsyncSession, entry: AuditEntry) -> bool:
        return _checked(entry, *await AuditTrailRepository(session).append(entry))

    async def _record_transition(
        self,
        entry: AuditEntry,
        repository_of: Callable[[AsyncSession], _ReadModelRepository[_State, _View]],
        state: _State,
        key: str,
        session: AsyncSession | None = None,
    ) -> _View:
        """An audit entry and the read model it moves, together or not at all; a repeat changes nothing."""
        async with self._unit(session) as session:
            await self._append(session, entry)
            repository = repository_of(session)
            applied = await repository.save(state, entry.seq, entry.at)
            record = await repository.get(key)
            assert record is not None  # saved above, now or by an earlier transition
            return record.to_view(applied)

    async def record_audit_entry(self, entry: AuditEntry) -> AuditEntryRecorded:
        async with self._sessions.begin() as session:
            written = await self._append(session, entry)
        return AuditEntryRecorded(subject_id=entry.subject_id, seq=entry.seq, recorded=written)

    async def audit_trail(self, query: AuditTrailQuery) -> AuditTrail:
        async with self._sessions() as session:
            return AuditTrail(entries=list(await AuditTrailRepository(session).entries_for(query.subject_id)))

    async def latest_action_at(self, subject_id: str, action: str, until: datetime) -> datetime | None:
        """When the subject's latest `action` at or before `until` was recorded; None if it never was."""
        async with self._sessions() as session:
            return await AuditTrailRepository(session).latest_at(subject_id, action, until)

    async def record_case_transition(self, transition: CaseTransition) -> CaseRecordView:
        """The audit entry and the case's read model after it, together or not at all."""
        return await self._record_transition(
            transition.entry, CaseRecordRepository, transition.case, transition.case.case_id
        )

    async def record_case_transitions(
        self, transitions: Sequence[CaseTransition], session: AsyncSession | None = None
    ) -> list[bool]:
        """A case's audit entries of one workflow transition and its read model after the last of them, in one unit
        of work, the model written once and not read back; answers per entry whether this call wrote it (a repeat
        writes none). The same rows as `record_case_transition` once per entry, in fewer statements."""
        if not transitions:
            return []
        async with self._unit(session) as session:
            [written] = await self._case_transitions([transitions], session)
        return written

    async def record_case_writes(self, writes: Sequence[CaseWrite], session: AsyncSession) -> list[CaseWritten]:
        """Several transitions' audit entries, read models, cards and score events in the caller's unit of work, in
        one statement per table for all of them (a group commit's batch: at the 17:30 instant, hundreds of red
        cards), where each transition alone took four. Each answer is what `record_case_transitions` and
        `record_cards_and_scores` answer for its transition alone. Should two of them carry the same key (an attempt
        and its retry side by side), they are written in turn, so that only one of them counts it as written."""
        if _repeated(writes):
            return [(await self._case_writes([write], session))[0] for write in writes]
        return await self._case_writes(writes, session)

    async def _case_writes(self, writes: Sequence[CaseWrite], session: AsyncSession) -> list[CaseWritten]:
        entries = await self._case_transitions([write.transitions for write in writes], session)
        cards = await self._cards_and_scores([(write.cards, write.scores) for write in writes], session)
        return [
            CaseWritten(entries=written, cards=issued, scores=scores)
            for written, (issued, scores) in zip(entries, cards, strict=True)
        ]

    async def _case_transitions(
        self, groups: Sequence[Sequence[CaseTransition]], session: AsyncSession
    ) -> list[list[bool]]:
        """Each group's entries: one INSERT for all of them, and each case's read model after its latest entry."""
        entries = [transition.entry for group in groups for transition in group]
        if not entries:
            return [[] for _ in groups]
        appended = iter(await AuditTrailRepository(session).append_many(entries))  # one INSERT for them all
        written = [[_checked(transition.entry, *next(appended)) for transition in group] for group in groups]
        latest: dict[str, CaseTransition] = {}
        for transition in (transition for group in groups for transition in group):
            kept = latest.get(transition.case.case_id)
            if kept is None or transition.entry.seq > kept.entry.seq:
                latest[transition.case.case_id] = transition
        await CaseRecordRepository(session).save_many(
            [(transition.case, transition.entry.seq, transition.entry.at) for transition in latest.values()]
        )
        return written

    async def record_handoff_transitions(
        self, transitions: Sequence[HandoffTransition], session: AsyncSession
    ) -> list[bool]:
        """A hand-off's audit entries and its read model after the last of them, in the caller's unit of work: one
        INSERT for the entries, the model written once and not read back; answers per entry whether this call wrote
        it (a repeat writes none). The same rows as `record_handoff_transition` once per entry."""
        if not transitions:
            return []
        entries = [transition.entry for transition in transitions]
        appended = await AuditTrailRepository(session).append_many(entries)
        written = [_checked(entry, *answer) for entry, answer in zip(entries, appended, strict=True)]
        last = max(transitions, key=lambda transition: transition.entry.seq)
        await HandoffRecordRepository(session).save(last.handoff, last.entry.seq, last.entry.at)
        return written

    async def record_handoff_transition(self, transition: HandoffTransition) -> HandoffRecordView:
        return await self._record_transition(
            transition.entry, HandoffRecordRepository, transition.handoff, transition.handoff.handoff_id
        )

    async def record_supervision_order(
        self, transition: SupervisionOrderTransition, session: AsyncSession | None = None
    ) -> SupervisionOrderView:
        """An order issued, received, answered or lifted: its audit entry and its current state."""
        return await self._record_transition(
            transition.entry, SupervisionOrderRepository, transition.order, transition.order.order_id, session
        )

    def _card(self, issue: CardIssue) -> Card:
        return Card(
            card_id=issue.card_id,
            subject_id=issue.subject_id,
            subject_kind=issue.subject_kind.value,
            department_code=issue.department_code,
            level=issue.level.value,
            reason=issue.reason.value,
            step=issue.step,
            due_at=issue.due_at,
            issued_at=issue.issued_at,
            points=self._points(_CARD_SCORE[issue.level], issue.points),
            score_event_id=_card_event_id(issue.card_id),
        )

    @staticmethod
    def _card_event(card: Card) -> ScoreEvent:
        """The score event a card becomes."""
        return ScoreEvent(
            event_id=card.score_event_id,
            department_code=card.department_code,
            kind=_CARD_SCORE[CardLevel(card.level)].value,
            subject_id=card.subject_id,
            occurred_at=card.issued_at,
            points=card.points,
            note=f"{card.level} card: {card.reason}",
        )

    async def record_card(self, issue: CardIssue, session: AsyncSession | None = None) -> CardRecord:
        """The card and the score event it becomes, in one unit of work."""
        card = self._card(issue)
        async with self._unit(session) as session:
            written, stored = await CardRepository(session).add(card)
            if not written:
                _same_card(stored, card)
            await ScoreEventRepository(session).add(self._card_event(card))
            return _card_record(stored, written)

    async def record_cards_and_scores(
        self, issues: Sequence[CardIssue], events: Sequence[ScoreEventInput], session: AsyncSession
    ) -> tuple[list[CardIssue], int]:
        """A transition's cards and score events in the caller's unit of work, in two INSERTs (the cards; every
        score event, the cards' own among them) instead of an INSERT and a read-back per row; rows a retried
        attempt finds written are read in one SELECT and compared, as `record_card` and `record_score_event` do.
        Answers the cards this call issued and how many of `events` it recorded."""
        [answer] = await self._cards_and_scores([(issues, events)], session)
        return answer

    async def _cards_and_scores(
        self, groups: Sequence[tuple[Sequence[CardIssue], Sequence[ScoreEventInput]]], session: AsyncSession
    ) -> list[tuple[list[CardIssue], int]]:
        """`record_cards_and_scores` for each group, in two INSERTs for all of them."""
        cards = [[self._card(issue) for issue in issues] for issues, _ in groups]
        every_card = [card for group in cards for card in group]
        issued: list[list[CardIssue]] = [[] for _ in groups]
        if every_card:
            written, stored = await CardRepository(session).add_many(every_card)
            for (issues, _), group, answer in zip(groups, cards, issued, strict=True):
                for issue, card in zip(issues, group, strict=True):
                    if card.card_id in written:
                        answer.append(issue)
                    else:
                        _same_card(stored[card.card_id], card)
        rows = [[self._score_row(event) for event in events] for _, events in groups]
        every_row = [row for group in rows for row in group]
        everything = [self._card_event(card) for card in every_card] + every_row
        if not everything:
            return [(answer, 0) for answer in issued]
        recorded, stored_events = await ScoreEventRepository(session).add_many(everything)
        for row in every_row:
            if row.event_id not in recorded:
                _same_score_event(stored_events[row.event_id], row)
        counts = [sum(row.event_id in recorded for row in group) for group in rows]
        return list(zip(issued, counts, strict=True))

    async def revoke_card(self, revocation: CardRevocation) -> CardRecord:
        """Revokes a card on appeal and takes back its points; revoking it again changes nothing."""
        async with self._sessions.begin() as session:
            cards = CardRepository(session)
            revoked = await cards.revoke(
                revocation.card_id, revocation.revoked_at, revocation.revoked_by, revocation.reason
            )
            card = await cards.get(revocation.card_id)
            if card is None:
                raise NotFound(f"card {revocation.card_id} does not exist")
            assert card.revoked_at is not None  # revoked now or earlier
            await ScoreEventRepository(session).add(
                ScoreEvent(
                    event_id=f"card-revoked:{card.card_id}",
                    department_code=card.department_code,
                    kind=ScoreKind.CARD_REVOKED.value,
                    subject_id=card.subject_id,
                    occurred_at=card.revoked_at,
                    points=-card.points,
                    note=f"{card.level} card {card.card_id} revoked",
                )
            )
            return _card_record(card, revoked)

    async def record_joint_meeting(self, meeting: JointMeetingSnapshot, version: int, at: datetime) -> bool:
        """A leaders' joint meeting as of the case's transition `version`; True when this call changed the record."""
        return (await self.write_joint_meeting(meeting, version, at)).changed

    async def write_joint_meeting(self, meeting: JointMeetingSnapshot, version: int, at: datetime) -> MeetingWritten:
        """As `record_joint_meeting`, saying too whether this call wrote the request or the outcome first: what the
        metrics count (a retry, or the same meeting written again by a later transition, counts neither)."""
        async with self._sessions.begin() as session:
            repository = JointMeetingRepository(session)
            before = await repository.get(meeting.meeting_id)
            had_outcome = before is not None and before.decided_at is not None
            changed = await repository.save(meeting, version, at)
            return MeetingWritten(
                changed=changed,
                requested=changed and before is None,
                decided=changed and meeting.decided_at is not None and not had_outcome,
            )

    async def joint_meetings(self, case_id: str) -> list[JointMeetingView]:
        async with self._sessions() as session:
            return [row.to_view() for row in await JointMeetingRepository(session).for_case(case_id)]

    def _score_row(self, event: ScoreEventInput) -> ScoreEvent:
        return ScoreEvent(
            event_id=event.event_id,
            department_code=event.department_code,
            kind=event.kind.value,
            subject_id=event.subject_id,
            occurred_at=event.occurred_at,
            points=self._points(event.kind, event.points),
            note=event.note,
        )

    async def record_score_event(
        self, event: ScoreEventInput, session: AsyncSession | None = None
    ) -> ScoreEventRecorded:
        """On-time closes, redos, typical cases; cards and bad ratings record theirs themselves."""
        row = self._score_row(event)
        async with self._unit(session) as session:
            written, stored = await ScoreEventRepository(session).add(row)
            if not written:
                _same_score_event(stored, row)
        return ScoreEventRecorded(event_id=stored.event_id, points=stored.points, recorded=written)

    async def score_totals(self, query: ScoreTotalsQuery) -> ScoreTotals:
        """Each department's points in a period: the input of the monthly assessment report."""
        async with self._sessions() as session:
            totals = await ScoreEventRepository(session).totals(query.start, query.end)
        return ScoreTotals(
            start=query.start,
            end=query.end,
            departments=[DepartmentScore(department_code=c, points=p, events=n) for c, p, n in totals],
        )

    async def record_rating(self, rating: RatingInput, session: AsyncSession | None = None) -> RatingRecorded:
        """A follow-up rating; a bad one is also a score event against the rated department."""
        score_event_id = f"rating:{rating.rating_id}" if rating.level.is_bad else None
        row = Rating(
            rating_id=rating.rating_id,
            case_id=rating.case_id,
            department_code=rating.department_code,
            level=rating.level.value,
            channel=rating.channel,
            comment=rating.comment,
            rated_at=rating.rated_at,
            score_event_id=score_event_id,
        )
        async with self._unit(session) as session:
            written, stored = await RatingRepository(session).add(row)
            if stored.level != row.level or stored.case_id != row.case_id:
                raise _conflict(f"rating {rating.rating_id}", ["level" if stored.level != row.level else "case_id"])
            if score_event_id is not None:
                await ScoreEventRepository(session).add(
                    ScoreEvent(
                        event_id=score_event_id,
                        department_code=rating.department_code,
                        kind=ScoreKind.BAD_RATING.value,
                        subject_id=rating.case_id,
                        occurred_at=rating.rated_at,
                        points=self._points(ScoreKind.BAD_RATING, None),
                        note=f"rated {rating.level.value}",
                    )
                )
        return RatingRecorded(
            rating_id=rating.rating_id, bad=rating.level.is_bad, score_event_id=score_event_id, recorded=written
        )
