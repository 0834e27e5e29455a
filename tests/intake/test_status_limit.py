"""The public status lookup's rate limit holds across doors: two doors on one store, each its own app and memory,
served over real HTTP, count one client address together."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop.direct import CaseClient
from tests.support.department_world import running_worker, sample_store, target_of
from tests.support.embedded_stack import free_ports
from workers.door.app import build_app
from workers.door.serve import serving
from workers.settings import Settings

LIMIT = 3


@pytest.fixture
async def doors(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[list[str]]:
    store = await sample_store(tmp_path)
    queue = f"status-{uuid.uuid4()}"
    ports = free_ports(2)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        store_url=store,
        task_queue=queue,
        temporal_target=target_of(dev_env),
        api_status_lookups_per_minute=LIMIT,
    )
    async with running_worker(dev_env, store, queue) as resources:
        engine = await CaseClient.connect(settings, within=30)
        first = build_app(settings, engine=engine, sessions=resources.sessions)
        second = build_app(settings, engine=engine, sessions=resources.sessions)
        async with serving(first, "127.0.0.1", ports[0]), serving(second, "127.0.0.1", ports[1]):
            yield [f"http://127.0.0.1:{port}" for port in ports]
        await engine.close()


async def test_two_doors_count_one_address_together(doors: list[str]) -> None:
    answers = []
    for index in range(LIMIT + 1):
        async with httpx.AsyncClient(base_url=doors[index % 2]) as anonymous:
            query = {"case_id": "case-SQ-12345~12345.NOPE", "code": "ABCDEFGH"}
            answers.append(await anonymous.post("/v1/status", json=query))
    assert [answer.status_code for answer in answers] == [404] * LIMIT + [429]
    refused = answers[-1]
    assert refused.json()["rule"] == "status.rate"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
