"""The OpenAPI document: served at /openapi.json, committed as docs/openapi.json, valid, with every error answer
documented as problem details and the bearer scheme on every route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from openapi_spec_validator import validate

from tests.door.conftest import DoorWorld
from workers.door.openapi import PUBLIC_PATHS

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


async def served(world: DoorWorld) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=world.url) as anonymous:
        answer = await anonymous.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


async def test_the_committed_document_is_the_served_one(door_world: DoorWorld) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == await served(door_world), "regenerate: python -m workers.door.openapi > docs/openapi.json"


async def test_the_document_is_valid_and_documents_every_error(door_world: DoorWorld) -> None:
    document = await served(door_world)
    validate(document)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A department's API key (clk_…) or a JWT from the city's identity platform",
    }
    assert "24 hours" in document["info"]["description"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            # The requester's status lookup is public (rate-limited); everything else takes a credential.
            expected = [] if path in PUBLIC_PATHS else [{"bearer": []}]
            assert operation["security"] == expected, (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"] == {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, (method, path, status)


async def test_unknown_routes_and_big_bodies_are_problems(door_world: DoorWorld) -> None:
    async with httpx.AsyncClient(base_url=door_world.url) as anonymous:
        missing = await anonymous.get("/v1/nowhere")
        assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
        wrong = await anonymous.delete("/v1/me")
        assert (wrong.status_code, wrong.headers["content-type"]) == (405, "application/problem+json")
    big = {"role": "coordinator", "text": "x" * (1024 * 1024)}
    refused = await door_world.client("SQ-YSB").post("/v1/cases/case-x/comment", json=big)
    assert refused.status_code == 413
    assert refused.json()["type"].endswith("/request-too-large")


async def test_a_broken_body_names_its_pointer(door_world: DoorWorld) -> None:
    answer = await door_world.client("SQ-YSB").post(
        "/v1/cases/case-x/issue-supervision-order",
        json={"role": "supervisor", "department": "SQ ZJJ", "content": "", "co_departments": ["ok", "not ok"]},
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"].endswith("/invalid-request")
    pointers = {error["pointer"] for error in problem["errors"]}
    assert {"#/department", "#/content", "#/co_departments/1"} <= pointers
    broken = await door_world.client("SQ-YSB").post(
        "/v1/cases/case-x/comment", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["type"].endswith("/invalid-request")
