"""The rest of the front door over real HTTP on the dev server: the legal clock, the registry, who the caller is,
event batches and withdrawals. Each route's happy path, its refusals by field and rule with nothing changed, an
anonymous request, and for events the department they belong to."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.door.conftest import AUDIENCE, COORDINATOR, INITIATOR, ISSUER, LEAD, OPERATOR, DoorWorld
from tests.door.test_cases import problem
from tests.door.test_handoffs import LICENCE_TO_HEALTH, licence_granted
from tests.support.department_world import APPROVAL_BUREAU, HEALTH_COMMISSION, eventually

NATIONAL_DAY: dict[str, Any] = {"from": "2026-09-28T10:00:00+08:00", "limit": 5, "unit": "working-days"}


def reference() -> str:
    return f"R-{uuid.uuid4().hex[:10]}"


async def anonymous(world: DoorWorld, method: str, path: str, **given: Any) -> dict[str, Any]:
    """The route refuses a request without a credential before reading anything else."""
    async with httpx.AsyncClient(base_url=world.url, timeout=30) as client:
        refused = problem(await client.request(method, path, **given), 401)
    assert refused["rule"] == "credential.missing"
    return refused


async def handoff_stage(world: DoorWorld, handoff_id: str) -> str:
    answer = await world.client(APPROVAL_BUREAU).get(f"/v1/handoffs/{handoff_id}")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["stage"])


# The legal clock.


async def cli_deadline(world: DoorWorld, *argv: str) -> dict[str, Any]:
    """`caseloop deadline --json` on the door's store, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOOP_")}
    env.update(CASELOOP_DATA_DIR=str(world.settings.data_dir), CASELOOP_STORE_URL=str(world.settings.store_url))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "caseloop.cli",
        "deadline",
        *argv,
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    answer: dict[str, Any] = json.loads(out)
    return answer


async def test_a_deadline_across_national_day_is_the_clis(door_world: DoorWorld) -> None:
    answer = await door_world.client(LEAD).post("/v1/deadlines", json=NATIONAL_DAY)
    assert answer.status_code == 200, answer.text
    schedule = answer.json()
    assert schedule["deadline"]["due_at"] == "2026-10-10T17:30:00+08:00"
    reasons = {note["day"]: note["reason"] for note in schedule["deadline"]["notes"]}
    assert reasons["2026-10-01"] == "National Day"
    assert reasons["2026-10-10"] == "make-up working day (National Day)"
    assert [rung["kind"] for rung in schedule["rungs"]], "the default profile's rungs"
    cli = await cli_deadline(door_world, "--from", NATIONAL_DAY["from"], "--limit", "5", "--unit", "working-days")
    assert schedule == cli


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({**NATIONAL_DAY, "from": "2026-09-28T10:00:00"}, "from", "timezone_aware"),
        ({**NATIONAL_DAY, "from": "next monday"}, "from", "datetime_from_date_parsing"),
        ({**NATIONAL_DAY, "limit": 0}, "limit", "greater_than"),
        ({**NATIONAL_DAY, "limit": 1.5}, "limit", "clock.whole-units"),
        ({**NATIONAL_DAY, "limit": 99999}, "limit", "clock.horizon"),
        ({**NATIONAL_DAY, "limit": 99999, "unit": "natural-days"}, "limit", "clock.horizon"),
        ({**NATIONAL_DAY, "limit": 99999, "unit": "office-hours"}, "limit", "clock.horizon"),
        ({**NATIONAL_DAY, "limit": 12000, "extensions": [9000]}, "extensions", "clock.horizon"),
        ({**NATIONAL_DAY, "limit": 10, "unit": "fortnights"}, "unit", "enum"),
        ({**NATIONAL_DAY, "from": "9999-12-28T10:00:00+08:00"}, "from", "clock.horizon"),
        (
            {
                **NATIONAL_DAY,
                "pauses": [
                    {"started_at": "2026-09-29T09:00:00+08:00", "ended_at": "2026-09-30T09:00:00+08:00"},
                    {"started_at": "2026-09-29T12:00:00+08:00", "ended_at": "2026-10-09T09:00:00+08:00"},
                ],
            },
            "pauses",
            "clock.pauses-overlap",
        ),
        ({**NATIONAL_DAY, "due": "2026-10-10"}, "due", "extra_forbidden"),
        ({"limit": 5, "unit": "working-days"}, "from", "missing"),
    ],
)
async def test_a_bad_deadline_is_refused_by_field_and_rule(
    door_world: DoorWorld, body: dict[str, Any], field: str, rule: str
) -> None:
    refused = problem(await door_world.client(LEAD).post("/v1/deadlines", json=body), 422)
    assert (refused["field"], refused["rule"]) == (field, rule), refused
    assert refused["detail"]


async def test_an_absurd_limit_is_refused_before_any_counting(door_world: DoorWorld) -> None:
    client = door_world.client(LEAD)
    for unit in ("working-days", "natural-days"):
        body = {**NATIONAL_DAY, "limit": 99999, "unit": unit}
        refused = problem(await client.post("/v1/deadlines", json=body), 422)
        assert (refused["field"], refused["rule"]) == ("limit", "clock.horizon")
        assert f"beyond the legal clock's 50 years (at most 18300 {unit})" in refused["detail"]
    assert (await client.post("/v1/deadlines", json=NATIONAL_DAY)).status_code == 200


async def test_a_long_count_does_not_hold_up_other_requests(door_world: DoorWorld) -> None:
    # Six years of working days around a hundred suspensions: seconds of counting, done beside the event loop.
    pauses = [
        {
            "started_at": f"{2027 + i // 12}-{i % 12 + 1:02d}-03T09:00:00+08:00",
            "ended_at": f"{2027 + i // 12}-{i % 12 + 1:02d}-04T09:00:00+08:00",
        }
        for i in range(100)
    ]
    client = door_world.client(LEAD)
    long_count = asyncio.create_task(
        client.post("/v1/deadlines", json={**NATIONAL_DAY, "limit": 1500, "pauses": pauses})
    )
    for _ in range(5):
        assert (await client.get("/v1/me")).status_code == 200
    assert not long_count.done(), "the door answered others while it counted"
    answer = await long_count
    assert answer.status_code == 200, answer.text
    assert "paused" in {note["kind"] for note in answer.json()["deadline"]["notes"]}


async def test_deadlines_need_a_credential(door_world: DoorWorld) -> None:
    await anonymous(door_world, "POST", "/v1/deadlines", json=NATIONAL_DAY)


# The registry.


async def test_the_registry_answers_known_codes(door_world: DoorWorld) -> None:
    client = door_world.client(LEAD)
    department = await client.get(f"/v1/registry/departments/{APPROVAL_BUREAU}")
    assert department.status_code == 200, department.text
    assert (department.json()["code"], department.json()["active"]) == (APPROVAL_BUREAU, True)
    matter = await client.get(f"/v1/registry/matters/{door_world.matter}")
    assert matter.status_code == 200, matter.text
    assert (matter.json()["code"], matter.json()["initiators"]) == (door_world.matter, [INITIATOR])
    handoff_matter = await client.get(f"/v1/registry/matters/{LICENCE_TO_HEALTH}")
    assert (handoff_matter.status_code, handoff_matter.json()["kind"]) == (200, "approval_supervision")


@pytest.mark.parametrize("kind", ["departments", "matters"])
async def test_the_registry_refuses_unknown_and_malformed_codes(door_world: DoorWorld, kind: str) -> None:
    client = door_world.client(LEAD)
    missing = problem(await client.get(f"/v1/registry/{kind}/SQ-NOWHERE"), 404)
    assert "SQ-NOWHERE" in missing["detail"]
    malformed = problem(await client.get(f"/v1/registry/{kind}/{'X' * 65}"), 422)
    assert (malformed["field"], malformed["rule"]) == ("code", "string_too_long")
    malformed = problem(await client.get(f"/v1/registry/{kind}/SQ%20YSB"), 422)
    assert (malformed["field"], malformed["rule"]) == ("code", "string_pattern_mismatch")
    await anonymous(door_world, "GET", f"/v1/registry/{kind}/{APPROVAL_BUREAU}")


# Who the caller is.


async def test_me_for_an_operator_and_a_jwt(door_world: DoorWorld) -> None:
    operator = await door_world.client("operator").get("/v1/me")
    assert operator.status_code == 200, operator.text
    assert operator.json()["department"] == OPERATOR
    assert operator.json()["kind"] == "operator"
    assert operator.json()["credential_id"] == f"key:{door_world.key_ids['operator']}"
    assert operator.json()["expires_at"] is not None, "an API key always expires"
    expires = int(time.time()) + 300
    for claims, kind in (({}, "department"), ({"caseloop_operator": True}, "operator")):
        token = door_world.token(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "hotline", "department": COORDINATOR, "exp": expires, **claims}
        )
        async with httpx.AsyncClient(base_url=door_world.url, headers={"Authorization": f"Bearer {token}"}) as jwt:
            me = await jwt.get("/v1/me")
        assert me.status_code == 200, me.text
        assert me.json() == {
            "department": COORDINATOR,
            "kind": kind,
            "credential_id": "jwt:idp.caseloop.test:hotline",
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z"),
        }
    await anonymous(door_world, "GET", "/v1/me")


# Event batches.


def unmatched(ref: str) -> dict[str, Any]:
    """An approval nobody's matter waits for: recorded, and no hand-off started."""
    return {**licence_granted(ref), "item_code": "SP-NOBODY-WAITS"}


async def test_a_batch_is_reported_once_and_its_retry_answers_the_first_report(door_world: DoorWorld) -> None:
    body = {
        "batch_id": f"nightly-{uuid.uuid4().hex[:8]}",
        "events": [licence_granted(reference()), unmatched(reference())],
    }
    client = door_world.client(APPROVAL_BUREAU)
    first = await client.post("/v1/event-batches", json=body)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["batch_id"] == body["batch_id"]
    assert [entry["outcome"] for entry in report["reports"]] == ["started", "unmatched"]
    [handoff] = report["reports"][0]["handoffs"]
    assert (handoff["matter_code"], handoff["receiver_code"]) == (LICENCE_TO_HEALTH, HEALTH_COMMISSION)
    assert report["reports"][0]["event_key"].startswith(APPROVAL_BUREAU), "the credential's department reported it"
    again = await client.post("/v1/event-batches", json=body)
    assert again.status_code == 200, again.text
    retried = again.json()
    # The first report again, each event marked as reported before: nothing new started.
    assert [entry["event_key"] for entry in retried["reports"]] == [entry["event_key"] for entry in report["reports"]]
    assert [entry["outcome"] for entry in retried["reports"]] == ["duplicate", "duplicate"]
    assert [entry["handoffs"] for entry in retried["reports"]] == [entry["handoffs"] for entry in report["reports"]]
    assert retried["reports"][1]["rejection"] == report["reports"][1]["rejection"], "still matched by no matter"


@pytest.mark.parametrize(
    ("where", "value", "field", "rule"),
    [
        (("events",), [], "events", "too_short"),
        (("batch_id",), "", "batch_id", "string_too_short"),
        (("events", 1, "occurred_at"), "2026-09-28T10:00:00", "events.1.occurred_at", "timezone_aware"),
        (("events", 1, "source_department"), HEALTH_COMMISSION, "events.1.source_department", "extra_forbidden"),
        (("events", 1, "event"), "sunrise", "events.1.event", "enum"),
        (("source_department",), HEALTH_COMMISSION, "source_department", "extra_forbidden"),
    ],
)
async def test_a_bad_batch_is_refused_by_field_and_rule_and_records_nothing(
    door_world: DoorWorld, where: tuple[str | int, ...], value: Any, field: str, rule: str
) -> None:
    good = licence_granted(reference())
    body: dict[str, Any] = {"batch_id": f"bad-{uuid.uuid4().hex[:8]}", "events": [good, licence_granted(reference())]}
    *parents, last = where
    target: Any = body
    for key in parents:
        target = target[key]
    target[last] = value
    client = door_world.client(APPROVAL_BUREAU)
    refused = problem(await client.post("/v1/event-batches", json=body), 422)
    assert (refused["field"], refused["rule"]) == (field, rule), refused
    # Nothing of the refused batch was recorded: its good event starts its hand-off now, for the first time.
    answer = await client.post("/v1/events", json=good)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "started"


async def test_an_event_starting_a_case_is_refused_by_field(door_world: DoorWorld) -> None:
    issue = {**licence_granted(reference()), "event": "issue_raised"}
    client = door_world.client(APPROVAL_BUREAU)
    refused = problem(await client.post("/v1/events", json=issue), 422)
    assert (refused["field"], refused["rule"]) == ("event", "value_error"), refused
    refused = problem(
        await client.post("/v1/event-batches", json={"batch_id": f"b-{uuid.uuid4().hex[:8]}", "events": [issue]}), 422
    )
    assert (refused["field"], refused["rule"]) == ("events.0.event", "value_error"), refused


async def test_a_batch_is_its_departments_own(door_world: DoorWorld) -> None:
    good = licence_granted(reference())
    body = {"batch_id": f"as-{uuid.uuid4().hex[:8]}", "events": [good]}
    as_another = {**body, "on_behalf_of": APPROVAL_BUREAU, "on_behalf_reason": "their system is down"}
    refused = problem(await door_world.client(HEALTH_COMMISSION).post("/v1/event-batches", json=as_another), 403)
    assert (refused["field"], refused["rule"]) == ("on_behalf_of", "on-behalf.operator-only")
    operator = door_world.client("operator")
    unexplained = problem(await operator.post("/v1/event-batches", json={**body, "on_behalf_of": APPROVAL_BUREAU}), 422)
    assert (unexplained["field"], unexplained["rule"]) == ("on_behalf_reason", "on-behalf.reason")
    await anonymous(door_world, "POST", "/v1/event-batches", json=body)
    # None of it was recorded: the approval bureau reports its own event for the first time.
    answer = await door_world.client(APPROVAL_BUREAU).post("/v1/event-batches", json=body)
    assert answer.status_code == 200, answer.text
    assert [entry["outcome"] for entry in answer.json()["reports"]] == ["started"]


async def test_a_batch_id_is_each_departments_own(door_world: DoorWorld) -> None:
    batch_id = f"nightly-{uuid.uuid4().hex[:8]}"  # every system names its nightly export by the date
    bureau = {"batch_id": batch_id, "events": [licence_granted(reference())]}
    first = await door_world.client(APPROVAL_BUREAU).post("/v1/event-batches", json=bureau)
    assert first.status_code == 200, first.text
    own = {"batch_id": batch_id, "events": [unmatched(reference())]}
    answer = await door_world.client(HEALTH_COMMISSION).post("/v1/event-batches", json=own)
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["reports"]
    assert entry["event_key"].startswith(HEALTH_COMMISSION), "the commission's own event, not the bureau's report"
    assert entry["outcome"] == "unmatched"


async def test_an_operator_reports_a_batch_for_a_department_with_a_reason(door_world: DoorWorld) -> None:
    body = {
        "batch_id": f"op-{uuid.uuid4().hex[:8]}",
        "events": [licence_granted(reference())],
        "on_behalf_of": APPROVAL_BUREAU,
        "on_behalf_reason": "the bureau's export failed; replayed from its file",
    }
    answer = await door_world.client("operator").post("/v1/event-batches", json=body)
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["reports"]
    assert entry["outcome"] == "started"
    assert entry["event_key"].startswith(APPROVAL_BUREAU), "the event is the bureau's, not the operator's"


# Withdrawals.


async def started(world: DoorWorld, ref: str) -> str:
    answer = await world.client(APPROVAL_BUREAU).post("/v1/events", json=licence_granted(ref))
    assert answer.status_code == 200, answer.text
    [handoff] = answer.json()["handoffs"]
    return str(handoff["handoff_id"])


def withdrawal(ref: str, **changes: Any) -> dict[str, Any]:
    return {"event": "case_closed", "reference": ref, "reason": "申請人撤回申請", **changes}


async def test_a_withdrawal_terminates_what_the_event_started(door_world: DoorWorld) -> None:
    ref = reference()
    handoff_id = await started(door_world, ref)
    client = door_world.client(APPROVAL_BUREAU)
    answer = await client.post("/v1/withdrawals", json=withdrawal(ref))
    assert answer.status_code == 200, answer.text
    assert answer.json()["terminated"] == [handoff_id]
    assert answer.json()["event_key"].startswith(APPROVAL_BUREAU)
    assert await eventually(lambda: handoff_stage(door_world, handoff_id), lambda stage: stage == "terminated") == (
        "terminated"
    )
    again = await client.post("/v1/withdrawals", json=withdrawal(ref))
    assert again.status_code == 200, again.text
    assert (again.json()["terminated"], again.json()["already_closed"]) == ([], [handoff_id])


async def test_a_withdrawal_of_an_event_never_reported_is_refused(door_world: DoorWorld) -> None:
    ref = reference()
    client = door_world.client(APPROVAL_BUREAU)
    refused = problem(await client.post("/v1/withdrawals", json=withdrawal(ref)), 422)
    assert (refused["rule"], refused["field"]) == ("withdrawal.unknown-event", "reference"), refused
    assert refused["type"].endswith("/rule-refused")
    assert ref in refused["detail"]
    # The refusal left nothing behind: once reported, the event is withdrawn as any other.
    handoff_id = await started(door_world, ref)
    answer = await client.post("/v1/withdrawals", json=withdrawal(ref))
    assert answer.status_code == 200, answer.text
    assert answer.json()["terminated"] == [handoff_id]


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"reason": ""}, "reason", "string_too_short"),
        ({"reference": ""}, "reference", "string_too_short"),
        ({"event": "sunrise"}, "event", "enum"),
        ({"source_department": APPROVAL_BUREAU}, "source_department", "extra_forbidden"),
    ],
)
async def test_a_bad_withdrawal_is_refused_by_field_and_rule_and_changes_nothing(
    door_world: DoorWorld, changes: dict[str, Any], field: str, rule: str
) -> None:
    ref = reference()
    handoff_id = await started(door_world, ref)
    refused = problem(
        await door_world.client(APPROVAL_BUREAU).post("/v1/withdrawals", json=withdrawal(ref, **changes)), 422
    )
    assert (refused["field"], refused["rule"]) == (field, rule), refused
    assert await handoff_stage(door_world, handoff_id) != "terminated"


async def test_a_department_cannot_withdraw_anothers_event(door_world: DoorWorld) -> None:
    ref = reference()
    handoff_id = await started(door_world, ref)
    health = door_world.client(HEALTH_COMMISSION)
    # Named outright, the bureau's event is refused as another department's.
    as_another = withdrawal(ref, on_behalf_of=APPROVAL_BUREAU, on_behalf_reason="撤回")
    refused = problem(await health.post("/v1/withdrawals", json=as_another), 403)
    assert (refused["field"], refused["rule"]) == ("on_behalf_of", "on-behalf.operator-only")
    # Under its own name the commission withdraws only its own events, and it reported none under this reference.
    refused = problem(await health.post("/v1/withdrawals", json=withdrawal(ref)), 422)
    assert (refused["rule"], refused["field"]) == ("withdrawal.unknown-event", "reference"), refused
    await anonymous(door_world, "POST", "/v1/withdrawals", json=withdrawal(ref))
    assert await handoff_stage(door_world, handoff_id) != "terminated", "the bureau's hand-off goes on"
    # An operator withdraws it for the bureau, saying why.
    operator = door_world.client("operator")
    unexplained = problem(
        await operator.post("/v1/withdrawals", json=withdrawal(ref, on_behalf_of=APPROVAL_BUREAU)), 422
    )
    assert (unexplained["field"], unexplained["rule"]) == ("on_behalf_reason", "on-behalf.reason")
    explained = withdrawal(ref, on_behalf_of=APPROVAL_BUREAU, on_behalf_reason="the bureau's system is down")
    answer = await operator.post("/v1/withdrawals", json=explained)
    assert answer.status_code == 200, answer.text
    assert answer.json()["terminated"] == [handoff_id]
