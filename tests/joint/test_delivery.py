"""Scheduled deliveries on the time-skipping server: the daily price delivery is expected on a make-up working day
and not on a statutory holiday, carded when it arrives at 11:05, reopened by the receiver's rejection, and missing
when the day closes without an accepted delivery."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.clock.activities import ClockActivities
from activities.gateway.delivery import GatewayActivities
from activities.ledger import LedgerActivities
from activities.scheduled.days import ScheduledDeliveryActivities
from activities.scheduled.pull import DeliveryPullActivities
from activities.store.calendar import CalendarRepository
from activities.store.collaboration import DeliveryDay
from activities.store.delivery import InboxEntry
from activities.store.ledger.cards import Card
from activities.store.ledger.scores import ScoreEvent
from schemas.clock import CalendarEntry, CalendarOverride
from schemas.names import DELIVERY_DELIVER, DELIVERY_REJECT, DELIVERY_VIEW
from schemas.scheduled import (
    DeliverCommand,
    DeliveryDayRun,
    DeliveryDayView,
    DeliveryOpened,
    DeliveryOpening,
    DeliveryStatus,
    RejectDeliveryCommand,
)
from services.registry.importer import import_registry
from tests.joint.conftest import LOCAL as LOCAL_SYSTEMS
from tests.joint.conftest import SECRET, SECRET_REF
from tests.joint.test_replay import record_history
from tests.support.department_world import sample_store
from tests.support.embedded_stack import free_ports
from tests.support.eventually import eventually
from workers.door.serve import serving
from workers.resources import open_resources
from workers.settings import Settings, get_settings
from workers.worker import workflow_runner
from workflows.delivery.workflow import DeliveryDayWorkflow, DeliveryOpeningWorkflow

PRICES = "FGW-NCP-JG"  # the sample registry's 87 farm prices, due 11:00
COLLECTORS = "SQ-FGW"
CANTEEN_PLATFORM = "SQ-SCJGJ"
LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass
class DeliveryWorld:
    env: WorkflowEnvironment
    queue: str
    sessions: async_sessionmaker[AsyncSession]
    holiday: date
    makeup_saturday: date
    working_day: date
    directory: Path
    started: list[WorkflowHandle[DeliveryDayWorkflow, DeliveryDayView]] = field(default_factory=list)

    async def start(self, day: date, code: str = PRICES) -> WorkflowHandle[DeliveryDayWorkflow, DeliveryDayView]:
        handle = await self.env.client.start_workflow(
            DeliveryDayWorkflow.run,
            DeliveryDayRun(delivery_code=code, day=day),
            id=f"delivery-{code}-{day}-{uuid.uuid4().hex[:6]}",
            task_queue=self.queue,
        )
        self.started.append(handle)
        return handle

    async def finish(self) -> None:
        """Ends what a test left running: its timers would hold up the shared server's time skipping."""
        for handle in self.started:
            try:
                await handle.terminate("the test is over")
            except RPCError:
                pass  # it had completed

    async def skip_to(self, day: date, at: time) -> None:
        target = datetime.combine(day, at, LOCAL)
        await self.env.sleep((target - await self.env.get_current_time()).total_seconds())


def _next_year_days(today: date) -> tuple[date, date, date]:
    """A weekday holiday, a make-up Saturday and an ordinary working day in January of next year."""
    first = date(today.year + 1, 1, 1)
    holiday = first if first.weekday() < 5 else first + timedelta(days=7 - first.weekday())
    saturday = first + timedelta(days=(5 - first.weekday()) % 7 + 7)
    working = saturday + timedelta(days=3)
    return holiday, saturday, working


@pytest.fixture
async def delivery_world(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[DeliveryWorld]:
    store = await sample_store(tmp_path)
    now = await ts_env.get_current_time()
    holiday, saturday, working = _next_year_days(now.astimezone(LOCAL).date())
    queue = f"delivery-{uuid.uuid4()}"
    async with open_resources(Settings(data_dir=tmp_path, store_url=store, task_queue=queue)) as resources:
        override = CalendarOverride(
            year=holiday.year,
            source="test notice",
            holidays=[CalendarEntry(name="元旦", dates=[holiday])],
            makeup_workdays=[CalendarEntry(name="元旦調休", dates=[saturday])],
        )
        async with resources.sessions.begin() as session:
            await CalendarRepository(session).replace_year(override, "test", datetime.now(UTC))
        scheduled = ScheduledDeliveryActivities(resources.sessions)
        ledger = LedgerActivities(resources.sessions)
        gateway = GatewayActivities(resources.sessions, resources.http, lambda _ref: None)
        pulls = DeliveryPullActivities(
            resources.sessions, resources.http, {SECRET_REF: SECRET.encode()}.get, LOCAL_SYSTEMS
        )
        async with Worker(
            ts_env.client,
            task_queue=queue,
            workflows=[DeliveryDayWorkflow, DeliveryOpeningWorkflow],
            activities=[
                scheduled.open_delivery_days,
                scheduled.plan_delivery_day,
                scheduled.record_delivery_day,
                ledger.record_card,
                ledger.record_score_event,
                ledger.record_supervision_order,
                ClockActivities(resources.sessions).compute_deadline,
                gateway.deliver_push,
                pulls.pull_delivery,
            ],
            workflow_runner=workflow_runner(),
        ):
            world = DeliveryWorld(ts_env, queue, resources.sessions, holiday, saturday, working, tmp_path)
            try:
                yield world
            finally:
                await world.finish()


def _prices(count: int = 3) -> DeliverCommand:
    records = [{"product": f"P{n:02d}", "market": "M1", "price": "4.20"} for n in range(count)]
    digest = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()
    return DeliverCommand(
        delivery_id=f"d-{uuid.uuid4().hex[:8]}", department=COLLECTORS, records=records, digest=digest
    )


async def _stored(world: DeliveryWorld, day: date) -> tuple[DeliveryDay | None, list[Card], list[InboxEntry]]:
    async with world.sessions() as session:
        row = await session.get(DeliveryDay, (PRICES, day))
        cards = list((await session.scalars(select(Card).where(Card.subject_kind == "delivery"))).all())
        inbox = list((await session.scalars(select(InboxEntry).order_by(InboxEntry.id))).all())
    return row, cards, inbox


async def test_nothing_is_expected_on_a_statutory_holiday(delivery_world: DeliveryWorld) -> None:
    handle = await delivery_world.start(delivery_world.holiday)

    view = await handle.result()

    assert view.status is DeliveryStatus.NOT_EXPECTED
    assert view.why == "statutory holiday (元旦)"


async def test_on_a_make_up_saturday_a_delivery_at_11_05_is_late_and_carded(delivery_world: DeliveryWorld) -> None:
    day = delivery_world.makeup_saturday
    handle = await delivery_world.start(day)
    await delivery_world.skip_to(day, time(11, 5))

    view = await handle.execute_update(DELIVERY_DELIVER, _prices(), result_type=DeliveryDayView)
    record_history("delivery-day-late", handle.id, await handle.fetch_history())

    assert view.why == "make-up working day (元旦調休)"
    assert (view.status, view.late, view.records) == (DeliveryStatus.DELIVERED, True, 3)
    assert [(card.level.value, card.reason.value, card.department) for card in view.cards] == [
        ("red", "delivery_late", COLLECTORS)
    ]
    row, cards, inbox = await _stored(delivery_world, day)
    assert row is not None and (row.status, row.late, row.version) == ("delivered", True, view.version)
    assert [(card.department_code, card.reason) for card in cards] == [(COLLECTORS, "delivery_late")]
    assert [(entry.department_code, entry.kind) for entry in inbox] == [
        (COLLECTORS, "card"),
        (CANTEEN_PLATFORM, "scheduled_delivery"),
    ]


async def test_a_rejected_delivery_reopens_and_the_day_closes_missing(delivery_world: DeliveryWorld) -> None:
    day = delivery_world.working_day
    handle = await delivery_world.start(day)
    await delivery_world.skip_to(day, time(10, 0))
    delivered = await handle.execute_update(DELIVERY_DELIVER, _prices(), result_type=DeliveryDayView)
    assert (delivered.status, delivered.late, delivered.cards) == (DeliveryStatus.DELIVERED, False, [])

    wrong = RejectDeliveryCommand(rejection_id="r-1", department=COLLECTORS, reason="mine")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(DELIVERY_REJECT, wrong, result_type=DeliveryDayView)
    assert "actor.receiver" in str(refused.value.cause)
    rejection = RejectDeliveryCommand(rejection_id="r-2", department=CANTEEN_PLATFORM, reason="market M1 missing")
    reopened = await handle.execute_update(DELIVERY_REJECT, rejection, result_type=DeliveryDayView)
    assert reopened.status is DeliveryStatus.EXPECTED and reopened.records == 0

    closed = await handle.result()
    record_history("delivery-day-rejected-missing-ordered", handle.id, await handle.fetch_history())

    assert closed.status is DeliveryStatus.MISSING
    # The missing day's supervision order went unanswered: a second red card at its deadline.
    assert [card.reason.value for card in closed.cards] == ["delivery_late", "deadline_overdue"]
    row, _cards, inbox = await _stored(delivery_world, day)
    assert row is not None and (row.status, row.rejections) == ("missing", 1)
    assert [entry.kind for entry in inbox if entry.kind == "circular"] == ["circular", "circular"]


async def test_the_daily_opening_starts_one_expectation_per_entry(delivery_world: DeliveryWorld) -> None:
    opened = await delivery_world.env.client.execute_workflow(
        DeliveryOpeningWorkflow.run,
        DeliveryOpening(day=delivery_world.holiday),
        id=f"opening-{uuid.uuid4()}",
        task_queue=delivery_world.queue,
        result_type=DeliveryOpened,
    )

    assert opened.started == [f"delivery-{PRICES}-{delivery_world.holiday}"]
    day = delivery_world.env.client.get_workflow_handle(opened.started[0], result_type=DeliveryDayView)
    view = await day.result()
    assert view.status is DeliveryStatus.NOT_EXPECTED


def _prices_system(records: list[dict[str, str]]) -> FastAPI:
    """The collectors' own system: answers a signed pull with the day's records, signed over the pull's id."""
    app = FastAPI()
    signer = Webhook(SECRET)

    @app.post("/prices")
    async def prices(request: Request) -> Response:
        body = await request.body()
        try:
            signer.verify(body, dict(request.headers))
        except WebhookVerificationError:
            return Response(status_code=401)
        answer = json.dumps({"records": records}, ensure_ascii=False)
        now = datetime.now(UTC)
        pull_id = request.headers["webhook-id"]
        headers = {
            "webhook-id": pull_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(pull_id, now, answer),
        }
        return Response(content=answer.encode(), media_type="application/json", headers=headers)

    return app


async def test_a_day_pulled_from_the_deliverers_system_is_on_time(
    delivery_world: DeliveryWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    (port,) = free_ports(1)
    entry = delivery_world.directory / "pull.yaml"
    entry.write_text(
        "deliveries:\n"
        "  - {code: FGW-PULL, name: 農產品價格(拉取), deliverer: SQ-FGW, receiver: SQ-SCJGJ, due: '11:00',"
        f" pull_url: 'http://127.0.0.1:{port}/prices', pull_at: '10:30', secret_ref: {SECRET_REF}}}\n",
        encoding="utf-8",
    )
    try:
        await import_registry(delivery_world.sessions, [entry])
    finally:
        get_settings.cache_clear()
    records = [
        {"product": "大白菜", "market": "宿城農貿市場", "price": "1.80"},
        {"product": "豬肉", "market": "M2", "price": "26.00"},
    ]
    day = delivery_world.working_day
    async with serving(_prices_system(records), "127.0.0.1", port):
        handle = await delivery_world.start(day, "FGW-PULL")
        await delivery_world.skip_to(day, time(10, 31))

        async def view() -> DeliveryDayView | None:
            return await handle.query(DELIVERY_VIEW, result_type=DeliveryDayView)

        pulled = await eventually(
            view, lambda v: v is not None and v.status is DeliveryStatus.DELIVERED, what="the pulled delivery"
        )
        record_history("delivery-day-pulled", handle.id, await handle.fetch_history())

    assert pulled is not None and (pulled.late, pulled.records, pulled.cards) == (False, 2, [])
    assert pulled.digest == hashlib.sha256(json.dumps(records, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def test_the_third_missing_day_of_a_month_climbs_to_an_admonitory_talk(delivery_world: DeliveryWorld) -> None:
    """A missing day is a supervision order and a circular to the deliverer, like any step left late; the third of
    the month an admonitory talk too; the circular and the talk count against the deliverer."""
    day = delivery_world.working_day
    async with delivery_world.sessions.begin() as session:
        for earlier in (day - timedelta(days=1), day - timedelta(days=2)):
            at = datetime.combine(earlier, time(11), LOCAL)
            session.add(
                DeliveryDay(
                    delivery_code=PRICES,
                    day=earlier,
                    deliverer=COLLECTORS,
                    receiver=CANTEEN_PLATFORM,
                    status="missing",
                    due_at=at,
                    delivered_at=None,
                    late=False,
                    records=0,
                    digest=None,
                    rejections=0,
                    version=3,
                    updated_at=at,
                )
            )
    handle = await delivery_world.start(day)

    closed = await handle.result()
    record_history("delivery-day-missing-ladder-ordered", handle.id, await handle.fetch_history())

    assert closed.status is DeliveryStatus.MISSING
    # The supervision order went unanswered too: a second red card; the day had reached the talk already.
    assert [card.reason.value for card in closed.cards] == ["delivery_late", "deadline_overdue"]
    assert [rung.kind.value for rung in closed.ladder] == ["supervision_order", "circular", "admonitory_talk"]
    subject = f"delivery-{PRICES}-{day}"
    async with delivery_world.sessions() as session:
        events = (await session.scalars(select(ScoreEvent).where(ScoreEvent.subject_id == subject))).all()
    assert sorted((event.department_code, event.kind) for event in events) == [
        (COLLECTORS, "admonitory_talk"),
        (COLLECTORS, "card_red"),
        (COLLECTORS, "card_red"),
        (COLLECTORS, "circular"),
    ]
