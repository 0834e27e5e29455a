"""The health-check table, proof that a worker reaches the store.

Stands in until the case workflow lands (issue 5); then it goes with the health workflow.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base


class HealthCheck(Base):
    __tablename__ = "health_checks"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    check_id: Mapped[str] = mapped_column(String(64), unique=True)
    checked_at: Mapped[datetime]
    worker: Mapped[str] = mapped_column(String(200))
