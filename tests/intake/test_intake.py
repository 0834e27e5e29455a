"""Each channel through the front door with its own credential: mapping, idempotency by record number, records
that map to nothing placed by hand, identity from the credential, bounded input, and batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from prometheus_client import REGISTRY

from activities.store.ledger.cases import CaseRecordRepository
from caseloop import CaseClient
from caseloop.errors import Forbidden
from schemas.case.stages import ClockStep
from schemas.case.views import CaseView
from schemas.intake_api import PrepaidCardComplaint
from tests.intake.conftest import COORDINATOR, HALLS, HOTLINE, OUTSIDER, PREPAID, RATINGS, IntakeWorld, number
from tests.support.eventually import eventually

CST = timezone(timedelta(hours=8))


def work_order(**fields: Any) -> dict[str, Any]:
    return {
        "work_order_number": number(),
        "category": "0301",
        "area_code": "321302",
        "address": "宿城區發展大道與洪澤湖路交叉口",
        "content": "施工圍擋佔用道路,車輛無法通行",
        "requester": {"mobile": "13912345678", "consent": True},
        **fields,
    }


async def registered(world: IntakeWorld, case_id: str) -> CaseView:
    async def read() -> CaseView:
        return await world.engine.case_by_id(case_id).state()

    return await eventually(read, lambda view: view.seq > 0, what=f"{case_id} registered")


async def test_a_work_order_becomes_one_case_however_often_it_is_sent(world: IntakeWorld) -> None:
    hotline = world.client(HOTLINE)
    order = work_order()
    first = await hotline.post("/v1/intake/12345/work-orders", json=order)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["created"] and answer["placed"]
    assert (answer["matter_code"], answer["locality_code"]) == ("SQ-12345-SZ", "SQ-SCQ")
    assert answer["case_id"] == f"case-{HOTLINE}~12345.{order['work_order_number']}"
    assert len(answer["verification_code"]) == 8

    again = await hotline.post("/v1/intake/12345/work-orders", json=order)
    assert again.status_code == 200, again.text
    assert again.json() == {**answer, "created": False}

    view = await registered(world, answer["case_id"])
    assert (view.matter_code, view.locality, view.system) == ("SQ-12345-SZ", "SQ-SCQ", HOTLINE)
    assert view.channel is not None
    assert (view.channel.code, view.channel.reference) == ("12345", order["work_order_number"])
    assert view.channel.pushes and view.channel.requester and view.channel.placed


async def test_the_address_places_a_work_order_without_an_area_code(world: IntakeWorld) -> None:
    order = work_order(area_code=None, address="宿豫區順河街道某小區北門")
    answer = (await world.client(HOTLINE).post("/v1/intake/12345/work-orders", json=order)).json()
    assert (answer["locality_code"], answer["placed"]) == ("SQ-SYQ", True)


async def test_a_record_that_maps_to_nothing_lands_for_the_coordinator(world: IntakeWorld) -> None:
    order = work_order(category="9999", area_code="000000", address="某處")
    response = await world.client(HOTLINE).post("/v1/intake/12345/work-orders", json=order)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["matter_code"], answer["locality_code"], answer["placed"]) == ("SQ-QD-DFP", "SQ-SCQ", False)
    assert "category '9999'" in answer["unplaced_reason"] and "area '000000'" in answer["unplaced_reason"]
    view = await registered(world, answer["case_id"])
    assert view.coordinator == COORDINATOR
    assert view.channel is not None and not view.channel.placed
    found = await eventually(
        lambda: world.engine.list(where=f"CaseloopChannel = '12345.{order['work_order_number']}'"),
        lambda cases: len(cases) == 1,
        what="the case found by its channel reference",
    )
    assert found[0].case_id == answer["case_id"]
    unplaced = await world.engine.list(where="CaseloopChannel = 'unplaced'")
    assert answer["case_id"] in {case.case_id for case in unplaced}
    # The coordinator finds it through the door as well, by the channel's reference or as unplaced.
    coordinator = world.client(COORDINATOR)
    reference = f"12345.{order['work_order_number']}"
    listed = (await coordinator.get("/v1/cases", params={"channel": reference})).json()["items"]
    assert [(item["case_id"], item["channel"]) for item in listed] == [
        (answer["case_id"], ["12345", reference, "unplaced"])
    ]
    counted = await coordinator.get("/v1/cases/count", params={"channel": ["unplaced", "nothing-else"]})
    assert counted.json()["count"] >= 1
    bad = await coordinator.get("/v1/cases", params={"channel": "12345/x"})
    assert (bad.status_code, bad.json()["errors"][0]["parameter"]) == (422, "channel")


async def test_only_the_channels_own_credential_feeds_it(world: IntakeWorld) -> None:
    order = work_order()
    refused = await world.client(OUTSIDER).post("/v1/intake/12345/work-orders", json=order)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["rule"], refused.json()["field"]) == ("intake.channel-credential", "channel")
    unknown = await world.client(HOTLINE).post("/v1/intake/NOPE/work-orders", json=order)
    assert (unknown.status_code, unknown.json()["rule"]) == (404, "intake.channel")
    wrong_kind = await world.client(HOTLINE).post("/v1/intake/HCP/work-orders", json=order)
    assert wrong_kind.status_code == 404
    # Nothing was taken in: the hotline itself may still send the record.
    assert (await world.client(HOTLINE).post("/v1/intake/12345/work-orders", json=order)).status_code == 201


async def test_bad_input_is_refused_by_field(world: IntakeWorld) -> None:
    hotline = world.client(HOTLINE)
    cases = [
        (work_order(work_order_number="X" * 49), "work_order_number"),
        (work_order(content="x" * 4001), "content"),
        (work_order(requester={"mobile": "13912345678", "user_id": "u1", "consent": True}), "requester"),
        (work_order(requester={"mobile": "13912345678", "consent": False}), "requester"),
        (work_order(requester={"mobile": "12345", "consent": True}), "requester.mobile"),
        (work_order(colour="red"), "colour"),
        (work_order(received_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()), "received_at"),
    ]
    for body, field in cases:
        response = await hotline.post("/v1/intake/12345/work-orders", json=body)
        assert response.status_code == 422, (field, response.text)
        problem = response.json()
        named = {problem.get("field")} | {
            error.get("pointer", "").removeprefix("#/").replace("/", ".") for error in problem.get("errors") or []
        }
        assert field in named, (field, problem)


async def test_a_bad_rating_opens_a_rectification_case_for_the_rated_department(world: IntakeWorld) -> None:
    rating = {
        "rating_id": number(),
        "level": "very_dissatisfied",
        "service_item": "SP-GGCSWS",
        "department": "SQ-WJW",
        "area_code": "321302",
        "comment": "辦證來回跑了三次",
    }
    response = await world.client(RATINGS).post("/v1/intake/HCP/ratings", json=rating)
    assert response.status_code == 201, response.text
    view = await registered(world, response.json()["case_id"])
    assert view.matter_code == "SQ-HCP-ZG"
    assert "SQ-WJW" in view.parties
    unknown = {**rating, "rating_id": number(), "department": "SQ-NOPE"}
    placed = (await world.client(RATINGS).post("/v1/intake/HCP/ratings", json=unknown)).json()
    assert (placed["matter_code"], placed["placed"]) == ("SQ-HCP-ZG", False)
    assert "department SQ-NOPE" in placed["unplaced_reason"]
    good = await world.client(RATINGS).post(
        "/v1/intake/HCP/ratings", json={**rating, "rating_id": number(), "level": "satisfied"}
    )
    assert (good.status_code, good.json()["rule"], good.json()["field"]) == (422, "intake.rating-not-bad", "level")


async def test_a_half_hour_window_item_received_before_lunch_is_due_after_it(world: IntakeWorld) -> None:
    """The office-hours clock: 11:50 + 0.5 office hours runs across the 12:00–13:30 lunch break to 13:50."""
    received = datetime(2026, 11, 30, 11, 50, tzinfo=CST)  # a Monday, a working day
    record = {
        "record_number": number(),
        "hall": "SQ-ZWFW",
        "attempted": "辦理個體工商戶變更登記",
        "failed_at": "系統提示經營場所地址無法核驗",
        "recorded_by": "示例窗口人員",
        "hour_class": "0.5",
        "received_at": received.isoformat(),
    }
    response = await world.client(HALLS).post("/v1/intake/BHB/window-records", json=record)
    assert response.status_code == 201, response.text
    assert (response.json()["matter_code"], response.json()["locality_code"]) == ("SQ-BHB-JB05", "SQ-SCQ")
    view = await registered(world, response.json()["case_id"])
    [accept] = [clock for clock in view.clocks if clock.step is ClockStep.ACCEPT]
    assert accept.due_at == datetime(2026, 11, 30, 13, 50, tzinfo=CST)


async def test_a_prepaid_card_claim_goes_to_the_market_regulator_where_the_merchant_is(world: IntakeWorld) -> None:
    claim = {
        "complaint_number": number(),
        "kind": "claim",
        "merchant": "某健身房(已閉店)",
        "merchant_address": "宿城區幸福中路88號",
        "card_number": "6222000011112222",
        "amount": "3680.00",
        "claim": "健身房閉店,要求退還剩餘卡內金額",
    }
    response = await world.client(PREPAID).post("/v1/intake/YFK/prepaid-card-complaints", json=claim)
    assert response.status_code == 201, response.text
    view = await registered(world, response.json()["case_id"])
    assert (view.matter_code, view.locality, view.lead_department) == ("SQ-YFK-TS", "SQ-SCQ", "SQ-SCJGJ")


async def test_a_batch_answers_each_record_and_starts_nothing_twice(world: IntakeWorld) -> None:
    hotline = world.client(HOTLINE)
    earlier = work_order()
    first = (await hotline.post("/v1/intake/12345/work-orders", json=earlier)).json()
    fresh = work_order()
    unmapped = work_order(category="0000")
    body = {"records": [fresh, earlier, unmapped, fresh]}
    response = await hotline.post("/v1/intake/12345/work-orders/batch", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    outcomes = [item["outcome"] for item in answer["items"]]
    assert outcomes == ["created", "duplicate", "created", "duplicate"]
    assert (answer["created"], answer["duplicate"], answer["rejected"]) == (2, 2, 0)
    assert answer["items"][1]["result"]["case_id"] == first["case_id"]
    assert answer["items"][3]["result"]["case_id"] == answer["items"][0]["result"]["case_id"]
    assert answer["items"][2]["result"]["placed"] is False

    again = (await hotline.post("/v1/intake/12345/work-orders/batch", json=body)).json()
    assert [item["outcome"] for item in again["items"]] == ["duplicate"] * 4


async def test_a_refused_record_in_a_batch_stops_none_of_the_others(world: IntakeWorld) -> None:
    ratings = world.client(RATINGS)
    bad = {"rating_id": number(), "level": "dissatisfied", "service_item": "SP-SPJY", "department": "SQ-SCJGJ"}
    good = {**bad, "rating_id": number(), "level": "very_satisfied"}
    response = await ratings.post("/v1/intake/HCP/ratings/batch", json={"records": [good, bad]})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["outcome"] for item in items] == ["rejected", "created"]
    assert items[0]["problem"]["field"] == "records.0.level"


async def test_an_operator_feeds_a_channel_for_its_department_with_a_reason(world: IntakeWorld) -> None:
    operator = world.client("operator")
    body = {"records": [work_order()], "on_behalf_of": HOTLINE, "on_behalf_reason": "熱線接口故障,人工補錄"}
    response = await operator.post("/v1/intake/12345/work-orders/batch", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    refused = await world.client(OUTSIDER).post("/v1/intake/12345/work-orders/batch", json=body)
    assert (refused.status_code, refused.json()["rule"]) == (403, "on-behalf.operator-only")


async def test_intake_is_counted_by_channel_and_outcome(world: IntakeWorld) -> None:
    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("caseloop_intake_records_total", {"channel": "12345", "outcome": outcome}) or 0

    before = {outcome: count(outcome) for outcome in ("created", "duplicate", "unplaced", "rejected")}
    hotline = world.client(HOTLINE)
    order = work_order()
    await hotline.post("/v1/intake/12345/work-orders", json=order)
    await hotline.post("/v1/intake/12345/work-orders", json=order)
    await hotline.post("/v1/intake/12345/work-orders", json=work_order(category="0000"))
    await hotline.post("/v1/intake/NOPE/work-orders", json=work_order())
    after = {outcome: count(outcome) - before[outcome] for outcome in before}
    assert after == {"created": 1, "duplicate": 1, "unplaced": 1, "rejected": 0}
    assert (
        REGISTRY.get_sample_value("caseloop_intake_records_total", {"channel": "NOPE", "outcome": "rejected"}) is None
    )


async def test_the_sdk_takes_records_in_as_the_door_does(world: IntakeWorld) -> None:
    async with await CaseClient.connect(world.url, world.keys[PREPAID]) as platform:
        fields = {
            "complaint_number": number(),
            "kind": "complaint",
            "merchant": "某游泳館",
            "merchant_area_code": "321322",
            "amount": "1200",
            "claim": "閉館未退款",
        }
        first = await platform.take_in("YFK", fields, kind="prepaid_card")
        assert (first.created, first.matter_code, first.locality_code) == (True, "SQ-YFK-TS", "SQ-SHY")
        again = await platform.take_in("YFK", PrepaidCardComplaint.model_validate(fields))
        assert (again.case_id, again.created) == (first.case_id, False)
        batch = await platform.take_in_batch(
            "YFK", [fields, {**fields, "complaint_number": number()}], kind="prepaid_card"
        )
        assert [item.outcome for item in batch.items] == ["duplicate", "created"]
        with pytest.raises(Forbidden):
            await platform.take_in("12345", work_order(), kind="hotline")


async def test_the_read_model_carries_the_channel_and_its_record_number(world: IntakeWorld) -> None:
    order = work_order()
    answer = await world.client(HOTLINE).post("/v1/intake/12345/work-orders", json=order)
    assert answer.status_code == 201, answer.text

    async def row() -> tuple[str | None, str | None]:
        async with world.sessions() as session:
            found = await CaseRecordRepository(session).of_channel("12345", order["work_order_number"])
        return (found.case_id, found.channel) if found else (None, None)

    case_id, channel = await eventually(row, lambda found: found[0] is not None, what="the case's read-model row")
    assert (case_id, channel) == (answer.json()["case_id"], "12345")
