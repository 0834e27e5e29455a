"""Inputs and outputs of the health workflow, which stands in until the case workflow lands (issue 5)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field


class HealthCheckInput(BaseModel):
    check_id: str = Field(min_length=1, max_length=64)


class HealthCheckRecord(BaseModel):
    check_id: str
    checked_at: AwareDatetime


class HealthReport(BaseModel):
    check_id: str
    checked_at: datetime
    worker: str
    store_rows: int = Field(description="health checks the store holds, this one included")
