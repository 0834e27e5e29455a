"""The provident-fund withdrawal through the front door on the dev server: a department with a step opens it, the
marital status is compared automatically, and each department says when its own step is done; the applicant looks
the status up with the code the opening answered."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from tests.joint.conftest import FUND, HEALTH, HOUSING, JointWorld
from tests.support.eventually import eventually

ID_NUMBER = "320000199001011234"
MOBILE = "13900001234"


async def test_the_withdrawal_through_the_door(joint_world: JointWorld) -> None:
    joint_id = f"GJJ-{uuid.uuid4().hex[:10]}"
    application = {"joint_id": joint_id, "matter_code": "GJJ-TQ", "application": {"id_number": ID_NUMBER}}

    outsider = await joint_world.client(HEALTH).post("/v1/joint", json=application)
    opened = await joint_world.client(FUND).post("/v1/joint", json=application)

    assert (outsider.status_code, outsider.json()["rule"]) == (403, "actor.step_department")
    assert opened.status_code == 200, opened.text
    assert "320000" not in opened.text
    path = f"/v1/joint/{joint_id}"

    async def steps() -> dict[str, str]:
        view = (await joint_world.client(FUND).get(path)).json()
        return {step["code"]: step["status"] for step in view["steps"]}

    await eventually(steps, lambda found: found["marriage"] == "done", what="the automatic marital-status step")
    not_theirs = await joint_world.client(FUND).post(f"{path}/steps/purchase", json={})
    assert (not_theirs.status_code, not_theirs.json()["rule"]) == (422, "actor.step_department")
    purchase = await joint_world.client(HOUSING).post(f"{path}/steps/purchase", json={"note": "備案號 2026-88"})
    assert purchase.status_code == 200, purchase.text
    amount = await joint_world.client(FUND).post(f"{path}/steps/amount", json={})
    assert amount.status_code == 200, amount.text
    settled = await joint_world.client(FUND).post(f"{path}/steps/settle", json={}, headers={"Idempotency-Key": "s-1"})

    assert settled.json()["status"] == "done"
    assert settled.json()["cards"] == []
    assert (await joint_world.client(HEALTH).get(path)).status_code == 404
    await joint_world.env.client.get_workflow_handle(f"joint-{joint_id}").result()
    closed = await joint_world.client(FUND).post(f"{path}/steps/settle", json={})
    assert (closed.status_code, closed.json()["rule"]) == (422, "joint.closed")


async def test_the_applicant_looks_up_the_status_with_the_code_and_nothing_more(joint_world: JointWorld) -> None:
    """The opening answers a code for the applicant (the same on a retry); with it the public lookup answers the
    stage, the deadline and the last step done, by name, and nothing else; a wrong code is an unknown application,
    and lookups are rate-limited per client address."""
    joint_id = f"GJJ-{uuid.uuid4().hex[:10]}"
    application = {"joint_id": joint_id, "matter_code": "GJJ-TQ", "application": {"id_number": ID_NUMBER}}
    opened = await joint_world.client(FUND).post("/v1/joint", json=application)
    again = await joint_world.client(FUND).post("/v1/joint", json=application)
    assert opened.status_code == again.status_code == 200, opened.text
    code = opened.json()["verification_code"]
    assert again.json()["verification_code"] == code and len(code) == 8

    async with httpx.AsyncClient(base_url=joint_world.url, timeout=30) as public:  # no credential

        async def lookup(given: str = code, joint: str = joint_id) -> httpx.Response:
            return await public.post("/v1/joint/status", json={"joint_id": joint, "code": given})

        def progressed(line: str) -> Callable[[httpx.Response], bool]:
            return lambda answer: answer.status_code == 200 and answer.json()["last_progress"] == line

        first = await eventually(lookup, progressed("婚姻狀況自動比對: done"), what="the automatic step in the lookup")
        assert set(first.json()) == {"joint_id", "stage", "deadline", "last_progress"}
        assert first.json()["stage"] == "running"
        deadline = datetime.fromisoformat(first.json()["deadline"])
        assert deadline == datetime.fromisoformat(opened.json()["due_at"])
        purchase = await joint_world.client(HOUSING).post(f"/v1/joint/{joint_id}/steps/purchase", json={})
        assert purchase.status_code == 200, purchase.text
        await eventually(lookup, progressed("購房備案信息確認: done"), what="the purchase step in the lookup")

        wrong = await lookup("ZZZZ2222")
        unknown = await lookup(code, "GJJ-no-such-one")
        assert (wrong.status_code, wrong.json()["rule"]) == (404, "status.code")
        assert (unknown.status_code, unknown.json()["rule"]) == (404, "status.code")
        assert ID_NUMBER not in first.text + wrong.text
        bad = await public.post("/v1/joint/status", json={"joint_id": joint_id, "code": "x" * 40})
        assert bad.status_code == 422

        answers = [await lookup("ZZZZ2222") for _ in range(joint_world.settings.api_status_lookups_per_minute)]
        limited = answers[-1]
        assert (limited.status_code, limited.json()["rule"]) == (429, "status.rate")
        assert int(limited.headers["Retry-After"]) >= 1


async def test_the_applicant_is_texted_the_status_code_when_the_application_opens(
    joint_world: JointWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The first SMS carries the code the opening answered (the workflow never holds it: the activity reads it from
    the store); the log shows the number masked and never the code."""
    joint_id = f"GJJ-{uuid.uuid4().hex[:10]}"
    fields = {"id_number": ID_NUMBER, "mobile": MOBILE}
    application = {"joint_id": joint_id, "matter_code": "GJJ-TQ", "application": fields}
    with caplog.at_level(logging.INFO):
        opened = await joint_world.client(FUND).post("/v1/joint", json=application)
        assert opened.status_code == 200, opened.text
        code = opened.json()["verification_code"]

        def mine() -> list[dict[str, object]]:
            return [sms for sms in joint_world.sms if sms["variables"]["joint_id"] == joint_id]  # type: ignore[index]

        async def texts() -> list[dict[str, object]]:
            return mine()

        await eventually(texts, lambda found: any(s["template_id"] == "applicant_opened" for s in found), what="sms")
        history = await joint_world.env.client.get_workflow_handle(f"joint-{joint_id}").fetch_history()

    [first] = [sms for sms in mine() if sms["template_id"] == "applicant_opened"]
    variables = dict(first["variables"])  # type: ignore[call-overload]
    assert first["phones"] == [MOBILE]
    assert sorted(variables) == ["due_at", "joint_id", "verification_code"]
    assert (variables["joint_id"], variables["verification_code"]) == (joint_id, code)
    assert datetime.fromisoformat(variables["due_at"]) == datetime.fromisoformat(opened.json()["due_at"])
    assert code not in history.to_json()
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "139****1234" in logged
    assert code not in logged and MOBILE not in logged
