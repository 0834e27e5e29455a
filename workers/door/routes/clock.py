"""The legal clock: when a limit falls due, its card rungs, and which days the count skipped."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ValidationError

from activities.clock.activities import load_legal_clock
from activities.clock.errors import ClockInputError
from activities.clock.profiles import schedule_rungs
from schemas.api import DeadlineRequest
from schemas.clock import ClockSpec, RungSchedule
from workers.door.deps import CallerDep, DoorDep
from workers.door.problems import DoorProblem, Kind

router = APIRouter(tags=["clock"])


@router.post("/v1/deadlines", response_model=RungSchedule, summary="Compute a deadline")
async def deadline(parts: DoorDep, _caller: CallerDep, body: DeadlineRequest) -> RungSchedule:
    """A limit counted on the legal calendar (working days skip weekends and holidays, make-up days count) and
    the instants of its card profile's rungs, with the reasons."""
    try:
        spec = ClockSpec(
            started_at=body.started_at,
            limit=body.limit,
            unit=body.unit,
            locality=body.locality,
            pauses=body.pauses,
            extensions=body.extensions,
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise DoorProblem(Kind.RULE_REFUSED, str(first["msg"]), rule="clock.spec", field="limit") from None
    clock = await load_legal_clock(parts.sessions, spec.locality)
    try:
        return schedule_rungs(clock, spec, body.profile)
    except (ClockInputError, ValueError) as error:
        raise DoorProblem(Kind.RULE_REFUSED, str(error), rule="clock.horizon", field="from") from None
