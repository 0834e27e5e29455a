"""What a transition asks the world for: audit rows, cards, scores, pushes, and the clocks to start or stop.

The state machine fills an `Effects` while it changes the state; the workflow then computes the deadlines,
writes the store, arms the timers and sends the pushes. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.actors import SYSTEM_ACTOR, Actor
    from schemas.case.records import Escalation
    from schemas.case.stages import CaseStage, ClockStep, SupervisionLevel
    from schemas.case.state import CaseClock, CaseState, IssuedCard, SupervisionOrder, TimelineEntry
    from schemas.clock import CardProfileName, ClockSpec, Pause, RungKind, RungSchedule
    from schemas.delivery import Push, PushKind, SmsNotification
    from schemas.ledger import (
        CardIssue,
        CardLevel,
        CardReason,
        CardRevocation,
        RatingInput,
        ScoreEventInput,
        ScoreKind,
        SubjectKind,
    )
    from schemas.registry import Limit


SYSTEM = SYSTEM_ACTOR


@dataclass
class ClockStart:
    """Start (or re-baseline) the clock `key`: the workflow computes its rungs and arms them."""

    key: str
    step: ClockStep
    department: str
    spec: ClockSpec
    subject: str | None = None
    # Set for a deadline that is an instant, not a limit on the legal calendar (a channel's own): armed as given.
    schedule: RungSchedule | None = None


@dataclass
class Window:
    """A deadline without timers that a later command is checked against (return window, reopen window)."""

    target: str
    spec: ClockSpec


@dataclass
class OrderEntry:
    """A transition of a supervision order, for its own audit trail."""

    order_id: str
    seq: int
    actor: Actor
    action: str
    reason: str | None
    at: datetime


@dataclass
class Effects:
    entries: list[TimelineEntry] = field(default_factory=list)
    order_entries: list[OrderEntry] = field(default_factory=list)
    cards: list[CardIssue] = field(default_factory=list)
    scores: list[ScoreEventInput] = field(default_factory=list)
    ratings: list[RatingInput] = field(default_factory=list)
    pushes: list[Push] = field(default_factory=list)
    sms: list[SmsNotification] = field(default_factory=list)
    clock_starts: list[ClockStart] = field(default_factory=list)
    clock_ends: list[str] = field(default_factory=list)
    clock_suspends: list[str] = field(default_factory=list)
    clock_resumes: dict[str, Pause] = field(default_factory=dict)
    clock_extensions: dict[str, float] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    inboxed: list[Push] = field(default_factory=list)
    revocations: list[CardRevocation] = field(default_factory=list)
    meetings: list[str] = field(default_factory=list)  # the leaders' joint meetings changed, by meeting id
    subject_id: str | None = None

    @property
    def to_record(self) -> bool:
        """Whether the store has anything to write; a colour rung alone changes only the state."""
        return bool(self.entries or self.order_entries or self.escalations or self.inboxed)


class Recorder:
    """Changes one case at one instant and writes down the effects; every id it hands out is deterministic."""

    def __init__(self, state: CaseState, now: datetime) -> None:
        self.state = state
        self.now = now
        self.effects = Effects()

    @property
    def case_id(self) -> str:
        return self.state.case_id

    def record(
        self,
        actor: Actor,
        action: str,
        *,
        to_stage: CaseStage | None = None,
        reason: str | None = None,
        note: str | None = None,
    ) -> TimelineEntry:
        """One audit row; with `to_stage`, the case moves there."""
        state = self.state
        state.seq += 1
        from_stage = state.stage
        if to_stage is not None:
            state.stage = to_stage
        entry = TimelineEntry(
            seq=state.seq,
            at=self.now,
            actor=actor,
            action=action,
            from_stage=from_stage,
            to_stage=state.stage,
            reason=reason,
            note=note,
        )
        # The store gets the whole text; the state, which every run carries on, a window of short entries.
        state.timeline.append(kept(entry, state.registration.policy.excerpt_chars))
        del state.timeline[: -state.registration.policy.timeline_kept]
        self.effects.entries.append(entry)
        return entry

    def record_order(self, order: SupervisionOrder, actor: Actor, action: str, reason: str | None = None) -> None:
        order.seq += 1
        self.effects.order_entries.append(
            OrderEntry(order_id=order.order_id, seq=order.seq, actor=actor, action=action, reason=reason, at=self.now)
        )

    def push(self, department: str, kind: PushKind, body: dict[str, str | int | bool | None]) -> None:
        self.state.pushes += 1
        registration = self.state.registration
        identity = {
            "case_id": self.case_id,
            "system": registration.system,
            "case_number": registration.case_number,
            "matter_code": registration.matter_code,
            "stage": self.state.stage.value,
        }
        self.effects.pushes.append(
            Push.about(
                self.case_id,
                identity,
                push_id=f"{self.case_id}.p{self.state.pushes}",
                department=department,
                kind=kind,
                at=self.now,
                body=body,
            )
        )

    def sms(self, department: str, template_id: str, variables: dict[str, str]) -> None:
        self.state.pushes += 1
        self.effects.sms.append(
            SmsNotification(
                notification_id=f"{self.case_id}.s{self.state.pushes}",
                department_code=department,
                matter_code=self.state.registration.matter_code,
                template_id=template_id,
                variables={"case_number": self.state.registration.case_number, **variables},
            )
        )

    def card(self, department: str, level: CardLevel, reason: CardReason, clock: CaseClock | None) -> IssuedCard:
        card = IssuedCard(
            card_id=f"{self.case_id}.c{len(self.state.cards) + 1}",
            department=department,
            level=level,
            reason=reason,
            step=clock.step if clock else None,
            issued_at=self.now,
        )
        self.state.cards.append(card)
        self.effects.cards.append(
            CardIssue(
                card_id=card.card_id,
                subject_id=self.case_id,
                subject_kind=SubjectKind.CASE,
                department_code=department,
                level=level,
                reason=reason,
                step=clock.step.value if clock else None,
                due_at=clock.sla.due_at if clock else None,
                issued_at=self.now,
            )
        )
        return card

    def score(self, department: str, kind: ScoreKind, note: str) -> None:
        self.state.score_events += 1
        self.effects.scores.append(
            ScoreEventInput(
                event_id=f"{self.case_id}.e{self.state.score_events}",
                department_code=department,
                kind=kind,
                subject_id=self.case_id,
                occurred_at=self.now,
                note=note,
            )
        )

    def escalate(self, department: str, rung: RungKind) -> None:
        self.effects.escalations.append(Escalation(department=department, rung=rung))

    def raise_level(self, level: SupervisionLevel) -> None:
        if level.rank > self.state.supervision_level.rank:
            self.state.supervision_level = level

    def start_clock(
        self,
        key: str,
        step: ClockStep,
        department: str,
        limit: Limit,
        *,
        started_at: datetime | None = None,
        subject: str | None = None,
    ) -> None:
        spec = ClockSpec(
            started_at=started_at or self.now,
            limit=float(limit.amount),
            unit=limit.unit,
            locality=self.state.registration.locality_code,
        )
        self.effects.clock_ends = [ended for ended in self.effects.clock_ends if ended != key]
        self.effects.clock_starts = [start for start in self.effects.clock_starts if start.key != key]
        self.effects.clock_starts.append(
            ClockStart(key=key, step=step, department=department, spec=spec, subject=subject)
        )

    def end_clock(self, key: str) -> None:
        self.effects.clock_starts = [start for start in self.effects.clock_starts if start.key != key]
        if key in self.state.clocks and key not in self.effects.clock_ends:
            self.effects.clock_ends.append(key)

    def window(self, target: str, limit: Limit, started_at: datetime) -> None:
        self.effects.windows.append(
            Window(
                target=target,
                spec=ClockSpec(
                    started_at=started_at,
                    limit=float(limit.amount),
                    unit=limit.unit,
                    locality=self.state.registration.locality_code,
                ),
            )
        )


def excerpt(text: str | None, chars: int) -> str | None:
    if text is None or len(text) <= chars:
        return text
    return text[: chars - 1] + "…"


def kept(entry: TimelineEntry, chars: int) -> TimelineEntry:
    """The entry as the state keeps it: its reason and note shortened to `chars`, with their full length."""
    reason, note = excerpt(entry.reason, chars), excerpt(entry.note, chars)
    if reason == entry.reason and note == entry.note:
        return entry
    length = len(entry.reason or "") + len(entry.note or "")
    return entry.model_copy(update={"reason": reason, "note": note, "text_length": length})


def profile_of(state: CaseState) -> CardProfileName:
    """The matter's card profile; an unknown name falls back to the default rather than stopping the case."""
    name = state.matter.card_profile if state.matter else CardProfileName.DEFAULT.value
    try:
        return CardProfileName(name)
    except ValueError:
        return CardProfileName.DEFAULT
