"""Input and output of the SLA drill workflow (tests only): a clock, a profile and a script of deadline moves."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from schemas.clock import CardProfileName, ClockSpec, FiredRung, RungKind, SlaClockState


class DrillAction(StrEnum):
    EXTEND = "extend"
    SUSPEND = "suspend"
    RESUME = "resume"
    CONTINUE_AS_NEW = "continue-as-new"


class DrillStep(BaseModel):
    """One move, at a simulated instant or right after a rung of a kind has fired."""

    action: DrillAction
    at: AwareDatetime | None = None
    after_rung: RungKind | None = None
    extension: float | None = None


class SlaDrill(BaseModel):
    clock: ClockSpec
    profile: CardProfileName = CardProfileName.DEFAULT
    steps: list[DrillStep] = Field(default_factory=list)
    # Carried over continue-as-new: the timers' state, where the simulated clock stood, the open suspension.
    state: SlaClockState | None = None
    simulated_now: AwareDatetime | None = None
    suspended_at: AwareDatetime | None = None
    changes: list[str] = Field(default_factory=list)
    runs: int = 1
    alarm: bool = False  # the clock woken by a workflows.sla.Alarm, as the case's clocks are, not by its own timers


class SlaDrillReport(BaseModel):
    fired: list[FiredRung]
    callbacks: int = Field(description="how often on_rung ran in the last run")
    state: SlaClockState
    changes: list[str]
    runs: int
