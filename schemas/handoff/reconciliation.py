"""The monthly reconciliation: every loop still open past its end-to-end limit, as the store keeps it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    model_validator,
)

from schemas.handoff.state import HandoffStage
from schemas.registry import HandoffDirection


class ReconciliationRun(BaseModel):
    """What the monthly schedule starts; without `as_of` the run reconciles as of its own start."""

    as_of: AwareDatetime | None = None


class ReconciliationRequest(BaseModel):
    as_of: AwareDatetime


class OverdueLoop(BaseModel):
    handoff_id: str
    matter_code: str
    direction: HandoffDirection
    stage: HandoffStage
    source_department: str
    receiver_code: str | None
    end_to_end_due_at: AwareDatetime
    overdue_by: timedelta


class DepartmentLoops(BaseModel):
    department_code: str = Field(description="the receiving department; '-' for loops nobody was routed to")
    loops: list[OverdueLoop]


class ReconciliationReport(BaseModel):
    """The monthly letter: every loop still open past its end-to-end limit, per receiving department, as the store
    keeps it (a month's letter may list thousands of loops: it is read from the store, never passed in a payload)."""

    report_id: int
    as_of: AwareDatetime
    open_past_limit: int
    departments: list[DepartmentLoops]


class DepartmentCount(BaseModel):
    department_code: str = Field(description="the receiving department; '-' for loops nobody was routed to")
    open_past_limit: int

    @model_validator(mode="before")
    @classmethod
    def _counted(cls, data: Any) -> Any:
        # A run recorded before the letter moved to the store answered with its loops: they are counted, so its
        # history replays.
        if isinstance(data, dict) and "open_past_limit" not in data and isinstance(data.get("loops"), list):
            return {"department_code": data.get("department_code"), "open_past_limit": len(data["loops"])}
        return data


class ReconciliationSummary(BaseModel):
    """What the monthly run answers: the stored letter's id and its counts, whatever the number of loops."""

    report_id: int
    as_of: AwareDatetime
    open_past_limit: int
    departments: list[DepartmentCount]
