"""The supervision orders a late joint step's and a missing delivery day's ladder issue, on the time-skipping server
through the front door: a real order to the late department (a `supervision_orders` row with its audit trail), due
by the limit on the legal clock, answered only by that department through the door; unanswered at its deadline it
earns a red card and the ladder's next rung."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.store.ledger.audit import AuditRecord
from activities.store.ledger.cards import Card
from activities.store.ledger.scores import ScoreEvent
from activities.store.ledger.supervision import SupervisionOrder
from caseloop.direct import CaseClient
from schemas.clock import ClockSpec
from schemas.joint.run import JointView
from schemas.registry import LimitUnit
from schemas.scheduled import DeliveryDayRun, DeliveryDayView
from services.clock.service import ClockService
from services.registry.importer import import_registry
from tests.joint.test_replay import record_history
from tests.support.department_world import running_worker, sample_store, target_of
from tests.support.embedded_stack import free_ports
from tests.support.eventually import eventually
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.serve import serving
from workers.settings import Settings
from workflows.delivery.rules import day_id
from workflows.delivery.workflow import DeliveryDayWorkflow

HOUSING = "SQ-ZJJ"  # does the late step
FUND = "SQ-GJJ"  # another department with a step
COLLECTORS = "SQ-FGW"  # delivers the test's daily figures
CANTEEN_PLATFORM = "SQ-SCJGJ"  # receives them
MATTER = "T-ORDERS"
DELIVERY = "T-ORDERS-JG"
REGISTRY = f"""
joint_matters:
  - code: {MATTER}
    name: 督辦測試"一件事"
    limit: 10 working-days
    steps:
      - code: purchase
        name: 購房備案信息確認
        department: {HOUSING}
        limit: 1 working-days
      - code: amount
        name: 核算提取金額
        department: {FUND}
        after: [purchase]
        limit: 1 working-days
deliveries:
  - code: {DELIVERY}
    name: 督辦測試日報
    deliverer: {COLLECTORS}
    receiver: {CANTEEN_PLATFORM}
    calendar: working-days
    due: "11:00"
    missing_after: "17:30"
    order_limit: 2 working-days
"""


@dataclass
class World:
    url: str
    env: WorkflowEnvironment
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    keys: dict[str, str]

    def client(self, department: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {self.keys[department]}"}, timeout=30
        )

    async def call(self, department: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        async with self.client(department) as client:
            return await client.request(method, path, json=body)


@pytest.fixture(scope="module")
async def world(ts_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    directory: Path = tmp_path_factory.mktemp("orders")
    store = await sample_store(directory)
    queue = f"orders-{uuid.uuid4()}"
    [door_port] = free_ports(1)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=directory, store_url=store, task_queue=queue, temporal_target=target_of(ts_env)
    )
    async with running_worker(ts_env, store, queue) as resources:
        registry = directory / "orders.yaml"
        registry.write_text(REGISTRY, encoding="utf-8")
        await import_registry(resources.sessions, [registry])
        keys = {
            department: (await issue_credential(resources.sessions, settings, department, created_by="tests")).api_key
            for department in (HOUSING, FUND, COLLECTORS, CANTEEN_PLATFORM)
        }
        engine = await CaseClient.connect(settings, within=30)
        async with serving(build_app(settings, engine=engine, sessions=resources.sessions), "127.0.0.1", door_port):
            yield World(f"http://127.0.0.1:{door_port}", ts_env, settings, resources.sessions, keys)
        await engine.close()


async def _in_working_days(world: World, order: Any, days: int) -> object:
    """The deadline the legal clock gives `days` working days from the order's issue."""
    spec = ClockSpec(started_at=order.issued_at, limit=float(Decimal(days)), unit=LimitUnit.WORKING_DAYS)
    return (await ClockService(world.sessions).deadline(spec)).due_at


async def _stored(world: World, order_id: str) -> tuple[SupervisionOrder | None, list[str]]:
    async with world.sessions() as session:
        row = await session.get(SupervisionOrder, order_id, populate_existing=True)
        query = select(AuditRecord).where(AuditRecord.subject_id == order_id).order_by(AuditRecord.seq)
        actions = [entry.action for entry in (await session.scalars(query)).all()]
    return row, actions


async def _skip_to(world: World, instant: Any) -> None:
    """The time-skipping server's clock a minute past `instant`, whatever the hour the test starts at."""
    await world.env.sleep(instant - await world.env.get_current_time() + timedelta(minutes=1))


async def _open(world: World) -> tuple[str, Callable[[], Awaitable[JointView]]]:
    joint_id = f"T-{uuid.uuid4().hex[:10]}"
    opened = await world.call(HOUSING, "POST", "/v1/joint", {"joint_id": joint_id, "matter_code": MATTER})
    assert opened.status_code == 200, opened.text

    async def view() -> JointView:
        return JointView.model_validate((await world.call(HOUSING, "GET", f"/v1/joint/{joint_id}")).json())

    return joint_id, view


async def _ordered(world: World, view: Callable[[], Awaitable[JointView]]) -> JointView:
    """Past the late step's supervision-order rung: the view with its order."""
    started = await eventually(view, lambda current: bool(current.steps[0].ladder), what="the step's ladder")
    [rung] = [rung for rung in started.steps[0].ladder if rung.kind.value == "supervision_order"]
    await _skip_to(world, rung.at)
    return await eventually(view, lambda current: bool(current.orders), what="the supervision order")


async def test_a_late_steps_order_goes_to_its_department_and_only_it_answers(world: World) -> None:
    joint_id, view = await _open(world)
    current = await _ordered(world, view)
    [order] = current.orders
    assert (order.department, order.step, order.status.value) == (HOUSING, "purchase", "issued")
    assert order.order_id == f"joint-{joint_id}.o1"
    assert order.deadline == await _in_working_days(world, order, 5)  # the matter's default order limit
    row, actions = await _stored(world, order.order_id)
    assert row is not None and (row.case_id, row.department_code, row.status) == (
        f"joint-{joint_id}",
        HOUSING,
        "issued",
    )
    assert actions == ["issued"]

    path = f"/v1/joint/{joint_id}/answer-supervision-order"
    answer = {"order_id": order.order_id, "answer": "備案信息已覈實,今日辦結"}
    not_theirs = await world.call(FUND, "POST", path, answer)
    unknown = await world.call(HOUSING, "POST", path, {"order_id": f"joint-{joint_id}.o9", "answer": "x"})
    empty = await world.call(HOUSING, "POST", path, {"order_id": order.order_id, "answer": ""})
    answered = await world.call(HOUSING, "POST", path, answer)
    again = await world.call(HOUSING, "POST", path, answer)

    assert (not_theirs.status_code, not_theirs.json()["rule"]) == (422, "actor.order_department")
    assert (unknown.status_code, unknown.json()["rule"]) == (422, "supervision_order.unknown")
    assert empty.status_code == 422
    assert answered.status_code == 200, answered.text
    assert JointView.model_validate(answered.json()).orders[0].status.value == "answered"
    assert (again.status_code, again.json()["rule"]) == (422, "supervision_order.status")
    row, actions = await _stored(world, order.order_id)
    assert row is not None and row.status == "answered" and row.answered_at is not None
    assert actions == ["issued", "answered"]
    handle = world.env.client.get_workflow_handle(f"joint-{joint_id}")
    record_history("joint-order-answered", handle.id, await handle.fetch_history())
    await handle.terminate("the test is over")


async def test_an_unanswered_order_is_carded_and_the_step_climbs_the_next_rung(world: World) -> None:
    joint_id, view = await _open(world)
    current = await _ordered(world, view)
    [order] = current.orders
    talk = current.steps[0].ladder[-1]
    assert talk.kind.value == "admonitory_talk" and talk.fired_at is None
    circular = current.steps[0].ladder[2]

    await _skip_to(world, order.deadline)

    def climbed(seen: JointView) -> bool:
        return seen.orders[0].overdue_at is not None and seen.steps[0].ladder[-1].fired_at is not None

    late = await eventually(view, climbed, what="the unanswered order carded and the next rung")
    fired = late.steps[0].ladder[-1].fired_at
    assert circular.at < order.deadline, "the circular came due on its own before the order's deadline"
    assert fired is not None and fired < talk.at, "the unanswered order brought the admonitory talk forward"
    async with world.sessions() as session:
        cards = (await session.scalars(select(Card).where(Card.subject_id == f"joint-{joint_id}"))).all()
        scores = (await session.scalars(select(ScoreEvent).where(ScoreEvent.subject_id == f"joint-{joint_id}"))).all()
    assert sorted((card.department_code, card.reason, card.step) for card in cards) == [
        (HOUSING, "deadline_overdue", "supervision_order"),
        (HOUSING, "step_overdue", "purchase"),
    ]
    assert {event.kind for event in scores} >= {"circular", "admonitory_talk"}

    # The step done and the next one done, the application finishes: the order still unanswered is lifted.
    done = await world.call(HOUSING, "POST", f"/v1/joint/{joint_id}/steps/purchase", {})
    assert done.status_code == 200, done.text
    await eventually(view, lambda seen: seen.steps[1].status.value == "running", what="the next step")
    finished = await world.call(FUND, "POST", f"/v1/joint/{joint_id}/steps/amount", {})
    assert finished.json()["status"] == "done"
    handle = world.env.client.get_workflow_handle(f"joint-{joint_id}")
    await handle.result()
    record_history("joint-order-unanswered-lifted", handle.id, await handle.fetch_history())
    row, actions = await _stored(world, order.order_id)
    assert row is not None and row.status == "lifted"
    assert actions == ["issued", "lifted"]


def _a_weekday_ahead(month: int) -> date:
    """A weekday of `month` next year in a month without statutory holidays (November, December): a working day in
    any year's calendar, official or estimated, later than the test runs."""
    day = date(date.today().year + 1, month, 10)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _missing_day(world: World, day: date) -> tuple[str, Callable[[], Awaitable[DeliveryDayView]]]:
    handle = await world.env.client.start_workflow(
        DeliveryDayWorkflow.run,
        DeliveryDayRun(delivery_code=DELIVERY, day=day),
        id=day_id(DELIVERY, day),
        task_queue=world.settings.task_queue,
    )
    path = f"/v1/deliveries/{DELIVERY}/{day}"

    async def view() -> DeliveryDayView:
        return DeliveryDayView.model_validate((await world.call(COLLECTORS, "GET", path)).json())

    async def read() -> httpx.Response:
        return await world.call(COLLECTORS, "GET", path)

    planned = await eventually(read, lambda answer: answer.status_code == 200, what="the day planned")
    opened = DeliveryDayView.model_validate(planned.json())
    await _skip_to(world, opened.missing_at)
    await eventually(view, lambda seen: bool(seen.orders), what="the missing day's order")
    return handle.id, view


async def test_a_missing_days_order_is_answered_by_the_deliverer_through_the_door(world: World) -> None:
    day = _a_weekday_ahead(11)
    workflow_id, view = await _missing_day(world, day)
    current = await view()
    [order] = current.orders
    assert (current.status.value, order.department, order.step) == ("missing", COLLECTORS, "deliver")
    assert order.deadline == await _in_working_days(world, order, 2)  # the entry's own order limit
    assert [rung.kind.value for rung in current.ladder] == ["supervision_order", "circular"]

    path = f"/v1/deliveries/{DELIVERY}/{day}/answer-supervision-order"
    answer = {"order_id": order.order_id, "answer": "採價員病假,已補報"}
    receiver = await world.call(CANTEEN_PLATFORM, "POST", path, answer)
    answered = await world.call(COLLECTORS, "POST", path, answer)

    assert (receiver.status_code, receiver.json()["rule"]) == (403, "actor.deliverer")
    assert answered.status_code == 200, answered.text
    assert DeliveryDayView.model_validate(answered.json()).orders[0].status.value == "answered"
    handle = world.env.client.get_workflow_handle(workflow_id, result_type=DeliveryDayView)
    final = await handle.result()
    record_history("delivery-day-order-answered", handle.id, await handle.fetch_history())
    assert final.orders[0].status.value == "answered"
    row, actions = await _stored(world, order.order_id)
    assert row is not None and (row.case_id, row.status) == (day_id(DELIVERY, day), "answered")
    assert actions == ["issued", "answered"]


async def test_a_missing_days_unanswered_order_is_carded_and_climbs_to_the_talk(world: World) -> None:
    day = _a_weekday_ahead(12)
    workflow_id, view = await _missing_day(world, day)
    [order] = (await view()).orders

    await _skip_to(world, order.deadline)
    final = await world.env.client.get_workflow_handle(workflow_id, result_type=DeliveryDayView).result()

    assert final.orders[0].overdue_at is not None and final.orders[0].status.value == "issued"
    assert [rung.kind.value for rung in final.ladder] == ["supervision_order", "circular", "admonitory_talk"]
    subject = day_id(DELIVERY, day)
    async with world.sessions() as session:
        cards = (await session.scalars(select(Card).where(Card.subject_id == subject))).all()
        scores = (await session.scalars(select(ScoreEvent).where(ScoreEvent.subject_id == subject))).all()
    assert sorted((card.reason, card.step) for card in cards) == [
        ("deadline_overdue", "supervision_order"),
        ("delivery_late", "deliver"),
    ]
    assert {event.kind for event in scores} >= {"circular", "admonitory_talk"}
    late = await world.call(
        COLLECTORS,
        "POST",
        f"/v1/deliveries/{DELIVERY}/{day}/answer-supervision-order",
        {"order_id": order.order_id, "answer": "late"},
    )
    assert (late.status_code, late.json()["rule"]) == (422, "delivery.status")
