"""A "one thing" step done by a webhook to the department's system, on the dev server: the engine pushes the step,
signed per Standard Webhooks, to the housing bureau's system on 127.0.0.1 (no application data in it); the system
does it and says so through the front door's step-completion route, and the next step starts."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook

from services.registry.importer import import_registry
from tests.joint.conftest import FUND, HOUSING, SECRET, SECRET_REF, JointWorld
from tests.support.embedded_stack import free_ports
from tests.support.eventually import eventually
from workers.door.serve import serving

ID_NUMBER = "320000199001011234"


def housing_system(received: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()
    signer = Webhook(SECRET)

    @app.post("/push")
    async def push(request: Request) -> Response:
        received.append(signer.verify(await request.body(), dict(request.headers)))
        return Response(status_code=204)

    return app


async def _matter_with_a_webhook_step(world: JointWorld, directory: Path, url: str) -> str:
    code = f"T-WH-{uuid.uuid4().hex[:8]}"
    file = directory / f"{code}.yaml"
    file.write_text(
        "departments:\n"
        f"  - code: {HOUSING}\n"
        "    name: 宿遷市住房和城鄉建設局\n"
        "    level: city\n"
        "    parent: SQ\n"
        f"    webhook_url: {url}\n"
        f"    secret_ref: {SECRET_REF}\n"
        "joint_matters:\n"
        f"  - code: {code}\n"
        "    name: 提取(網絡鉤子測試)\n"
        "    limit: 3 working-days\n"
        "    steps:\n"
        f"      - {{code: purchase, name: 購房備案信息確認, department: {HOUSING}, mode: webhook, "
        "limit: 1 working-days}\n"
        f"      - {{code: settle, name: 結算到賬, department: {FUND}, after: [purchase], limit: 1 working-days}}\n",
        encoding="utf-8",
    )
    await import_registry(world.sessions, [file])
    return code


async def test_a_webhook_step_is_pushed_and_completed_through_the_door(joint_world: JointWorld, tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []
    (port,) = free_ports(1)
    async with serving(housing_system(received), "127.0.0.1", port):
        matter = await _matter_with_a_webhook_step(joint_world, tmp_path, f"http://127.0.0.1:{port}/push")
        joint_id = f"WH-{uuid.uuid4().hex[:10]}"
        application = {"joint_id": joint_id, "matter_code": matter, "application": {"id_number": ID_NUMBER}}
        opened = await joint_world.client(FUND).post("/v1/joint", json=application)
        assert opened.status_code == 200, opened.text

        async def pushed() -> list[dict[str, Any]]:
            return received

        (push,) = await eventually(pushed, lambda found: len(found) == 1, what="the webhook step's push")
        assert push["kind"] == "joint_step" and push["department_code"] == HOUSING
        assert (push["body"]["joint_id"], push["body"]["step"]) == (joint_id, "purchase")
        assert ID_NUMBER not in str(push)

        done = await joint_world.client(HOUSING).post(push["body"]["complete"], json={"note": "備案號 2026-88"})
        assert done.status_code == 200, done.text
        steps = {step["code"]: step for step in done.json()["steps"]}
        assert steps["purchase"]["status"] == "done" and steps["purchase"]["done_by"] == HOUSING
        assert steps["settle"]["status"] == "running"
        await joint_world.client(FUND).post(f"/v1/joint/{joint_id}/steps/settle", json={})
