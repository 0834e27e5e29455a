"""Scheduled deliveries through the front door on the dev server: only the deliverer delivers, only the receiver
rejects, and a rejection reopens the day."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

from structlog.testing import capture_logs

from schemas.scheduled import DeliveryDayRun, DeliveryDayView
from tests.joint.conftest import CANTEEN_PLATFORM, COLLECTORS, JointWorld
from workers.stand_in import Outcome, deliver_prices, run_price_collectors, sample_prices
from workflows.delivery.rules import day_id
from workflows.delivery.workflow import DeliveryDayWorkflow

PRICES = "FGW-NCP-JG"
RECORDS = [{"product": "大白菜", "market": "宿城農貿市場", "price": "1.80"}]


def _a_weekday_ahead() -> date:
    """An ordinary weekday of next November: due later than the test runs, and no statutory holiday falls in
    November, so it is a working day in any year's calendar, official or estimated."""
    day = date(date.today().year + 1, 11, 10)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def test_the_deliverer_delivers_and_the_receiver_rejects(joint_world: JointWorld) -> None:
    day = _a_weekday_ahead()
    handle = await joint_world.env.client.start_workflow(
        DeliveryDayWorkflow.run,
        DeliveryDayRun(delivery_code=PRICES, day=day),
        id=day_id(PRICES, day),
        task_queue=joint_world.settings.task_queue,
    )
    try:
        path = f"/v1/deliveries/{PRICES}/{day}"
        refused = await joint_world.client(CANTEEN_PLATFORM).post(path, json={"records": RECORDS})
        assert (refused.status_code, refused.json()["rule"]) == (403, "actor.deliverer")

        key = {"Idempotency-Key": f"prices-{uuid.uuid4().hex[:8]}"}
        delivered = await joint_world.client(COLLECTORS).post(path, json={"records": RECORDS}, headers=key)
        assert delivered.status_code == 200, delivered.text
        view = DeliveryDayView.model_validate(delivered.json())
        assert (view.status.value, view.late, view.records) == ("delivered", False, 1)
        again = await joint_world.client(COLLECTORS).post(path, json={"records": RECORDS}, headers=key)
        assert again.json()["version"] == view.version

        not_theirs = await joint_world.client(COLLECTORS).post(f"{path}/rejections", json={"reason": "x"})
        assert not_theirs.status_code == 403
        rejected = await joint_world.client(CANTEEN_PLATFORM).post(
            f"{path}/rejections", json={"reason": "the 宿城 market's prices are missing"}
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["status"] == "expected"
        assert rejected.json()["rejections"][0]["reason"] == "the 宿城 market's prices are missing"

        read = await joint_world.client(COLLECTORS).get(path)
        assert read.json()["status"] == "expected"
        unknown = await joint_world.client(COLLECTORS).post(
            f"/v1/deliveries/{PRICES}/{day + timedelta(days=1)}", json={"records": RECORDS}
        )
        assert unknown.status_code == 404
    finally:
        await handle.terminate("the test is over")


async def test_a_delivery_for_a_closed_day_is_refused(joint_world: JointWorld) -> None:
    new_year = date(date.today().year + 1, 1, 1)  # a statutory holiday in every year's calendar
    handle = await joint_world.env.client.start_workflow(
        DeliveryDayWorkflow.run,
        DeliveryDayRun(delivery_code=PRICES, day=new_year),
        id=day_id(PRICES, new_year),
        task_queue=joint_world.settings.task_queue,
    )
    assert (await handle.result()).status.value == "not_expected"

    late = await joint_world.client(COLLECTORS).post(f"/v1/deliveries/{PRICES}/{new_year}", json={"records": RECORDS})

    assert (late.status_code, late.json().get("rule")) == (422, "delivery.status"), late.text


async def test_the_stand_in_collectors_deliver_the_day_once_and_leave_days_off_alone(joint_world: JointWorld) -> None:
    """What `caseloop up` runs so the demo's deliverer is not carded every day: the day's sample prices through the
    door with the collectors' key, once however often it tries; a day off is left alone, a day not opened waits."""
    day = _a_weekday_ahead() + timedelta(days=7)
    handle = await joint_world.env.client.start_workflow(
        DeliveryDayWorkflow.run,
        DeliveryDayRun(delivery_code=PRICES, day=day),
        id=day_id(PRICES, day),
        task_queue=joint_world.settings.task_queue,
    )
    new_year = date(date.today().year + 2, 1, 1)
    holiday = await joint_world.env.client.start_workflow(
        DeliveryDayWorkflow.run,
        DeliveryDayRun(delivery_code=PRICES, day=new_year),
        id=day_id(PRICES, new_year),
        task_queue=joint_world.settings.task_queue,
    )
    await holiday.result()
    collectors = joint_world.client(COLLECTORS)
    try:
        assert await deliver_prices(collectors, day + timedelta(days=1)) is Outcome.NOT_OPENED
        assert await deliver_prices(collectors, day) is Outcome.DELIVERED
        path = f"/v1/deliveries/{PRICES}/{day}"
        first = DeliveryDayView.model_validate((await collectors.get(path)).json())
        assert await deliver_prices(collectors, day) is Outcome.DELIVERED  # the same delivery, answered again
        assert await deliver_prices(collectors, new_year) is Outcome.CLOSED

        view = DeliveryDayView.model_validate((await collectors.get(path)).json())
        assert (view.status.value, view.late, view.records) == ("delivered", False, len(sample_prices(day)))
        assert view.version == first.version, "delivered once"
        off = DeliveryDayView.model_validate((await collectors.get(f"/v1/deliveries/{PRICES}/{new_year}")).json())
        assert off.status.value == "not_expected" and off.records == 0
    finally:
        await handle.terminate("the test is over")


async def test_the_stand_in_loop_delivers_a_working_day_once_and_skips_a_holiday(joint_world: JointWorld) -> None:
    """The loop `caseloop up` runs, over the real door: its calendar is the test's list of days, one per round, and
    its pause is nothing, so it runs its rounds at once. Two rounds on a working day deliver it once; two on a holiday
    deliver nothing."""
    day = _a_weekday_ahead() + timedelta(days=14)
    new_year = date(date.today().year + 3, 1, 1)
    handles = [
        await joint_world.env.client.start_workflow(
            DeliveryDayWorkflow.run,
            DeliveryDayRun(delivery_code=PRICES, day=opened),
            id=day_id(PRICES, opened),
            task_queue=joint_world.settings.task_queue,
        )
        for opened in (day, new_year)
    ]
    await handles[1].result()
    rounds = [day, day, new_year, new_year]
    asked: list[date] = []
    stop = asyncio.Event()

    def today() -> date:
        asked.append(rounds[len(asked)])
        if len(asked) == len(rounds):
            stop.set()  # the last round runs, then the loop ends
        return asked[-1]

    try:
        with capture_logs() as logs:
            await run_price_collectors(joint_world.url, joint_world.keys[COLLECTORS], stop, today=today, pause=0)
        collectors = joint_world.client(COLLECTORS)
        view = DeliveryDayView.model_validate((await collectors.get(f"/v1/deliveries/{PRICES}/{day}")).json())
        off = DeliveryDayView.model_validate((await collectors.get(f"/v1/deliveries/{PRICES}/{new_year}")).json())
    finally:
        await handles[0].terminate("the test is over")

    assert asked == rounds
    rounds_done = [(log["day"], log["outcome"]) for log in logs if log["event"] == "stand-in price collectors"]
    assert rounds_done == [(str(day), "delivered"), (str(new_year), "closed")]
    assert (view.status.value, view.late, view.records) == ("delivered", False, len(sample_prices(day)))
    assert (off.status.value, off.records) == ("not_expected", 0)
