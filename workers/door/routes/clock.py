"""The legal clock: when a limit falls due, its card rungs, and which days the count skipped."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import ValidationError

from schemas.api import DeadlineRequest
from schemas.clock import ClockSpec, RungSchedule
from services.clock.deadline import HORIZON
from services.clock.errors import ClockInputError
from services.clock.profiles import schedule_rungs
from services.clock.service import load_legal_clock
from workers.door.deps import CallerDep, DoorDep
from workers.door.problems import DoorProblem, Kind

router = APIRouter(tags=["clock"])

# The clock's own checks of a limit as a whole carry no location: the field is the one their message starts with.
_SPEC_FIELDS = {
    "limit": ("limit", "clock.whole-units"),
    "extension": ("extensions", "clock.whole-units"),
    "pauses": ("pauses", "clock.pauses-overlap"),
}


@router.post("/v1/deadlines", response_model=RungSchedule, summary="Compute a deadline")
async def deadline(parts: DoorDep, _caller: CallerDep, body: DeadlineRequest) -> RungSchedule:
    """A limit counted on the legal calendar (working days skip weekends and holidays, make-up days count) and
    the instants of its card profile's rungs, with the reasons."""
    spec = _spec(body)
    clock = await load_legal_clock(parts.sessions, spec.locality)
    try:
        # Decades of days with many pauses take seconds to walk: off the event loop, so other requests go on.
        return await asyncio.to_thread(schedule_rungs, clock, spec, body.profile)
    except ClockInputError as error:
        raise DoorProblem(Kind.RULE_REFUSED, str(error), rule="clock.horizon", field="limit") from None
    except OverflowError:
        raise _past_the_calendar() from None


def _spec(body: DeadlineRequest) -> ClockSpec:
    _within_horizon(body)
    try:
        return ClockSpec(
            started_at=body.started_at,
            limit=body.limit,
            unit=body.unit,
            locality=body.locality,
            pauses=body.pauses,
            extensions=body.extensions,
        )
    except OverflowError:
        raise _past_the_calendar() from None
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        field, rule = _SPEC_FIELDS.get(message.split(" ", 1)[0], (None, "clock.spec"))
        raise DoorProblem(Kind.RULE_REFUSED, message, rule=rule, field=field) from None


def _within_horizon(body: DeadlineRequest) -> None:
    """Refuses, before any counting, a limit longer than the clock's whole horizon in any calendar: the clock would
    refuse it too, after walking fifty years of days."""
    days = HORIZON.days
    most = days if body.unit.counts_days else (days + 1) * 24
    unit = body.unit.value
    if body.limit > most:
        raise DoorProblem(
            Kind.RULE_REFUSED,
            f"limit: {body.limit:g} {unit} reach beyond the legal clock's 50 years (at most {most} {unit})",
            rule="clock.horizon",
            field="limit",
        )
    if body.limit + sum(body.extensions) > most:
        raise DoorProblem(
            Kind.RULE_REFUSED,
            f"extensions: the limit and its extensions reach beyond the legal clock's 50 years (at most {most} {unit})",
            rule="clock.horizon",
            field="extensions",
        )


def _past_the_calendar() -> DoorProblem:
    return DoorProblem(
        Kind.RULE_REFUSED,
        "from: the count runs past the dates the calendar can hold (years 1 to 9999)",
        rule="clock.horizon",
        field="from",
    )
