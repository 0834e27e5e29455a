"""Leaders' joint meetings (市領導會辦): a case reported to the city leaders, the departments involved, the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from activities.store.base import Base, SealedText
from activities.store.ledger.idempotent import upsert_if_newer
from schemas.ledger import JointMeetingSnapshot, JointMeetingView


class JointMeeting(Base):
    __tablename__ = "joint_meetings"

    meeting_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), index=True)
    departments: Mapped[list[str]] = mapped_column(JSON)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    # The basis and the outcome are the coordinator's and the leaders' own words about the case and may name the
    # people it is about: sealed, only read whole with the meeting. Ids, codes and times stay clear for the views.
    basis: Mapped[str] = mapped_column(SealedText("joint_meetings.basis"))
    requested_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(SealedText("joint_meetings.outcome"))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    def to_view(self) -> JointMeetingView:
        return JointMeetingView.model_validate(
            {column.key: getattr(self, column.key) for column in JointMeeting.__table__.columns}
        )


class JointMeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def save(self, snapshot: JointMeetingSnapshot, version: int, updated_at: datetime) -> bool:
        """Writes the meeting as of the case's transition `version`; an older or repeated one changes nothing."""
        values = snapshot.model_dump(mode="python") | {"version": version, "updated_at": updated_at}
        return await upsert_if_newer(self._session, JointMeeting, values, key="meeting_id")

    async def get(self, meeting_id: str) -> JointMeeting | None:
        return await self._session.get(JointMeeting, meeting_id, populate_existing=True)

    async def for_case(self, case_id: str) -> Sequence[JointMeeting]:
        query = select(JointMeeting).where(JointMeeting.case_id == case_id).order_by(JointMeeting.requested_at)
        return (await self._session.scalars(query)).all()
