"""`caseloop up` as a user runs it: a subprocess on free ports, a workflow through it, SIGTERM, and a restart."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.health import HealthCheckInput, HealthReport
from tests.support.embedded_stack import (
    descendants,
    kill_stack,
    stack_environment,
    start_stack,
    stop_stack,
    wait_ready,
)
from workers.schedules import RECONCILIATION_SCHEDULE_ID
from workflows.health import HealthCheckWorkflow

pytestmark = pytest.mark.slow


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    return stack_environment(tmp_path / "data")


@pytest.fixture
def running(stack_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_stack(stack_env, tmp_path / "up-1.log")
    yield process
    kill_stack(process)


def _registry_departments(env: dict[str, str]) -> list[str]:
    shown = subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "registry", "show", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [department["code"] for department in json.loads(shown.stdout)["overview"]["departments"]]


async def _run_health(env: dict[str, str], workflow_id: str) -> HealthReport:
    client = await Client.connect(env["CASELOOP_TEMPORAL_TARGET"], data_converter=pydantic_data_converter)
    return await client.execute_workflow(
        HealthCheckWorkflow.run,
        HealthCheckInput(check_id=workflow_id),
        id=workflow_id,
        task_queue="caseloop",
        result_type=HealthReport,
    )


async def test_up_runs_stops_cleanly_and_keeps_its_data(stack_env: dict[str, str], tmp_path: Path) -> None:
    first = start_stack(stack_env, tmp_path / "up-1.log")
    try:
        wait_ready(first, tmp_path / "up-1.log")
        assert len(descendants(first.pid)) >= 1, "the Temporal server runs as a child"
        async with httpx.AsyncClient(timeout=10) as http:
            ui = await http.get(f"http://127.0.0.1:{stack_env['CASELOOP_UI_PORT']}/")
            assert ui.status_code == 200
            metrics = await http.get(f"http://127.0.0.1:{stack_env['CASELOOP_METRICS_PORT']}/metrics")
            assert "caseloop_commands_total" in metrics.text
        workflow_id = f"health-{uuid.uuid4()}"
        report = await _run_health(stack_env, workflow_id)
        assert report.store_rows == 1
        departments = _registry_departments(stack_env)
        assert "SQ-SPJ" in departments, "a fresh data directory starts with the sample registry for Suqian"
    finally:
        code, left = stop_stack(first)
    assert code == 0, (tmp_path / "up-1.log").read_text()
    assert left == set(), f"child processes left running: {left}"

    second = start_stack(stack_env, tmp_path / "up-2.log")
    try:
        wait_ready(second, tmp_path / "up-2.log")
        client = await Client.connect(stack_env["CASELOOP_TEMPORAL_TARGET"], data_converter=pydantic_data_converter)
        earlier = await client.get_workflow_handle(workflow_id).describe()
        assert earlier.status == WorkflowExecutionStatus.COMPLETED
        schedule = await client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).describe()
        assert schedule.schedule.spec.calendars, "the monthly reconciliation is scheduled"
        again = await _run_health(stack_env, f"health-{uuid.uuid4()}")
        assert again.store_rows == 2, "the store kept the first run's row"
        assert _registry_departments(stack_env) == departments, "the sample is loaded once"
    finally:
        code, left = stop_stack(second)
    assert code == 0
    assert left == set()


def test_up_refuses_a_taken_port(stack_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(stack_env["CASELOOP_UI_PORT"])))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "caseloop.cli", "up"], env=stack_env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode != 0
    assert f"port already in use: {stack_env['CASELOOP_UI_PORT']} (Temporal Web UI)" in result.stderr
    assert not (tmp_path / "data" / "temporal.db").exists(), "nothing was started"
