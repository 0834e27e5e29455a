"""The provident-fund withdrawal through the front door on the dev server: a department with a step opens it, the
marital status is compared automatically, and each department says when its own step is done."""

from __future__ import annotations

import uuid

from tests.joint.conftest import FUND, HEALTH, HOUSING, JointWorld
from tests.support.eventually import eventually

ID_NUMBER = "320000199001011234"


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
