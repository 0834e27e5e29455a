"""Moving a deadline: an approved extension or a finished suspension, with the new rungs and why it moved."""

from __future__ import annotations

from schemas.clock import (
    ClockSpec,
    DayKind,
    DeadlineChange,
    DeadlineExtension,
    DeadlineSuspension,
)
from services.clock.deadline import LegalClock, amount_words, hours_text
from services.clock.profiles import schedule_rungs


def _moved(previous: str, new: str) -> str:
    return f"due {previous} → {new}" if previous != new else f"due stays {new}"


def extend(clock: LegalClock, request: DeadlineExtension) -> DeadlineChange:
    spec = request.clock
    before = clock.deadline(spec)
    extended = ClockSpec.model_validate({**spec.model_dump(), "extensions": [*spec.extensions, request.extension]})
    schedule = schedule_rungs(clock, extended, request.profile)
    amount = amount_words(request.extension, spec.unit)
    due = _moved(before.due_at.isoformat(), schedule.deadline.due_at.isoformat())
    return DeadlineChange(
        clock=extended, previous_due_at=before.due_at, schedule=schedule, explanation=f"extended by {amount}: {due}"
    )


def suspend(clock: LegalClock, request: DeadlineSuspension) -> DeadlineChange:
    spec = request.clock
    before = clock.deadline(spec)
    paused = ClockSpec.model_validate(
        {**spec.model_dump(), "pauses": [*(p.model_dump() for p in spec.pauses), request.pause.model_dump()]}
    )
    schedule = schedule_rungs(clock, paused, request.profile)
    due = _moved(before.due_at.isoformat(), schedule.deadline.due_at.isoformat())
    if spec.unit.counts_days:
        days = [
            note.day.isoformat()
            for note in schedule.deadline.notes
            if note.kind is DayKind.PAUSED and request.pause.label in note.reason
        ]
        taken = f"{amount_words(len(days), spec.unit)} paused" + (f" ({', '.join(days)})" if days else "")
    else:
        only_this = paused.model_copy(update={"pauses": [request.pause]})
        taken = f"{hours_text(clock.paused_time(only_this, schedule.deadline.due_at))} paused"
    return DeadlineChange(
        clock=paused,
        previous_due_at=before.due_at,
        schedule=schedule,
        explanation=f"suspended {request.pause.label}: {taken}; {due}",
    )
