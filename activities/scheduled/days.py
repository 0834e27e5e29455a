"""The delivery-day activities: plan a day from the registry and the legal calendar, and record each transition."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.metrics import SCHEDULED_DELIVERIES
from activities.store.collaboration import CollaborationRepository, DeliveryDay, ScheduledDeliveryRow
from schemas.clock import DayKind
from schemas.names import DELIVERY_DAY_WORKFLOW
from schemas.scheduled import (
    DeliveryCalendar,
    DeliveryDayPlan,
    DeliveryDayRun,
    DeliveryDaySnapshot,
    DeliveryOpened,
    DeliveryOpening,
    DeliveryStatus,
    ScheduledDelivery,
)
from services.clock.service import load_legal_clock
from workflows.delivery.rules import day_id

LOCAL = ZoneInfo("Asia/Shanghai")


def scheduled_delivery(row: ScheduledDeliveryRow) -> ScheduledDelivery:
    return ScheduledDelivery(
        code=row.code,
        name=row.name,
        deliverer=row.deliverer,
        receiver=row.receiver,
        calendar=DeliveryCalendar(row.calendar),
        due=time.fromisoformat(row.due),
        missing_after=time.fromisoformat(row.missing_after),
        max_records=row.max_records,
        pull_url=row.pull_url,
        pull_at=time.fromisoformat(row.pull_at) if row.pull_at else None,
        secret_ref=row.secret_ref,
        active=row.active,
        **({"order_limit": row.order_limit} if row.order_limit else {}),
    )


class ScheduledDeliveryActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="open_delivery_days")
    async def open_delivery_days(self, opening: DeliveryOpening) -> DeliveryOpened:
        """Starts the day's workflow of every active entry on this worker's queue; one already started is left be,
        so a retried or repeated opening opens nothing twice."""
        if opening.day is None:
            raise ApplicationError("open_delivery_days needs a day", type="ValidationFailed", non_retryable=True)
        async with self._sessions() as session:
            rows = await CollaborationRepository(session).scheduled_deliveries()
        client = activity.client()
        opened = DeliveryOpened(day=opening.day)
        for row in rows:
            if not row.active:
                continue
            workflow_id = day_id(row.code, opening.day)
            try:
                await client.start_workflow(
                    DELIVERY_DAY_WORKFLOW,
                    DeliveryDayRun(delivery_code=row.code, day=opening.day),
                    id=workflow_id,
                    task_queue=activity.info().task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"Delivery {row.code} on {opening.day}",
                )
            except WorkflowAlreadyStartedError:
                pass
            opened.started.append(workflow_id)
        return opened

    @activity.defn(name="plan_delivery_day")
    async def plan_delivery_day(self, run: DeliveryDayRun) -> DeliveryDayPlan:
        """Whether the day expects the delivery (the legal calendar: holidays off, make-up days on) and by when."""
        if run.day is None:
            raise ApplicationError("plan_delivery_day needs a day", type="ValidationFailed", non_retryable=True)
        async with self._sessions() as session:
            row = await CollaborationRepository(session).scheduled_delivery(run.delivery_code)
        if row is None:
            raise ApplicationError(
                f"scheduled delivery {run.delivery_code!r} does not exist in the registry",
                type="NotFound",
                non_retryable=True,
            )
        entry = scheduled_delivery(row)
        calendar = (await load_legal_clock(self._sessions, None)).calendar
        day = calendar.day(run.day)
        if not entry.active:
            expected, why = False, "the entry is retired in the registry"
        elif entry.calendar is DeliveryCalendar.NATURAL_DAYS:
            expected, why = True, "every day"
        elif day.kind is DayKind.MAKEUP_WORKDAY:
            expected, why = True, f"make-up working day ({day.reason})"
        elif day.kind is DayKind.HOLIDAY:
            expected, why = False, f"statutory holiday ({day.reason})"
        elif day.kind is DayKind.WEEKEND:
            expected, why = False, "weekend"
        else:
            expected, why = True, "working day"
        return DeliveryDayPlan(
            entry=entry,
            day=run.day,
            expected=expected,
            why=why,
            due_at=datetime.combine(run.day, entry.due, LOCAL),
            missing_at=datetime.combine(run.day, entry.missing_after, LOCAL),
            pull_at=datetime.combine(run.day, entry.pull_at, LOCAL) if entry.pull_at else None,
            estimated=day.estimated,
            missing_before=await self._missing_before(entry.code, run.day),
        )

    async def _missing_before(self, code: str, day: date) -> int:
        """The entry's missing days earlier in the same month: the ladder's count for an admonitory talk."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.count())
                .select_from(DeliveryDay)
                .where(
                    DeliveryDay.delivery_code == code,
                    DeliveryDay.status == DeliveryStatus.MISSING.value,
                    DeliveryDay.day >= day.replace(day=1),
                    DeliveryDay.day < day,
                )
            )
        return int(found or 0)

    @activity.defn(name="record_delivery_day")
    async def record_delivery_day(self, snapshot: DeliveryDaySnapshot) -> bool:
        """The day as its workflow sees it after one transition; an older version than the stored one is dropped."""
        view = snapshot.view
        row = DeliveryDay(
            delivery_code=view.delivery_code,
            day=view.day,
            deliverer=view.deliverer,
            receiver=view.receiver,
            status=view.status.value,
            due_at=view.due_at,
            delivered_at=view.delivered_at,
            late=view.late,
            records=view.records,
            digest=view.digest,
            rejections=len(view.rejections),
            version=view.version,
            updated_at=snapshot.written_at,
        )
        async with self._sessions.begin() as session:
            written = await CollaborationRepository(session).write_versioned(row)
        if written and view.status in (DeliveryStatus.MISSING, DeliveryStatus.NOT_EXPECTED):
            SCHEDULED_DELIVERIES.labels(view.delivery_code, view.status.value).inc()
        elif written and view.status is DeliveryStatus.DELIVERED:
            SCHEDULED_DELIVERIES.labels(view.delivery_code, "late" if view.late else "delivered").inc()
        return written
