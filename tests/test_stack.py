"""`caseloop up` as a user runs it: a subprocess on free ports, a case through it, SIGTERM, and a restart."""

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

from caseloop import CaseClient
from schemas.case.stages import CaseStage
from schemas.case.views import CaseView
from tests.support.embedded_stack import (
    descendants,
    kill_stack,
    stack_environment,
    start_stack,
    stop_stack,
    wait_ready,
)
from workers.schedules import RECONCILIATION_SCHEDULE_ID

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


def _door(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['CASELOOP_API_PORT']}"


def _key(env: dict[str, str], department: str) -> str:
    """The development key `caseloop up` issued for the department into the data directory."""
    keys = json.loads((Path(env["CASELOOP_DATA_DIR"]) / "credentials.json").read_text())
    return str(keys[department])


async def _launch_and_accept(env: dict[str, str], case_number: str) -> CaseView:
    """A project problem launched through the door to the sample registry's parties, accepted by the coordinator."""
    async with await CaseClient.connect(_door(env), _key(env, "SQ-FGW")) as client:
        case = await client.launch(
            case_number=case_number, matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ", title="stack test"
        )
    async with await CaseClient.connect(_door(env), _key(env, "SQ-YSB")) as coordinator:
        await coordinator.case_by_id(case.case_id).accept(actor="coordinator", command_id=f"{case_number}:accept")
    async with await CaseClient.connect(_door(env), _key(env, "SQ-FGW")) as client:
        return await client.case(case_number).state()


async def _state(env: dict[str, str], case_number: str) -> CaseView:
    async with await CaseClient.connect(_door(env), _key(env, "SQ-FGW")) as client:
        return await client.case(case_number).state()


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
            door = await http.get(f"{_door(stack_env)}/openapi.json")
            assert door.status_code == 200, "the stack serves the front door"
        keys = Path(stack_env["CASELOOP_DATA_DIR"]) / "credentials.json"
        assert keys.stat().st_mode & 0o777 == 0o600, "the development keys are the owner's only"
        case_number = f"XM-{uuid.uuid4().hex[:8]}"
        launched = await _launch_and_accept(stack_env, case_number)
        assert launched.stage is CaseStage.LAUNCHED
        assert launched.lead_department == "SQ-SPJ", "the sample registry placed the case"
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
        earlier = await _state(stack_env, case_number)
        assert earlier.case_id == launched.case_id
        assert earlier.stage is CaseStage.LAUNCHED, "the case kept its stage across the restart"
        assert (await client.get_workflow_handle(launched.case_id).describe()).status is WorkflowExecutionStatus.RUNNING
        schedule = await client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).describe()
        assert schedule.schedule.spec.calendars, "the monthly reconciliation is scheduled"
        async with await CaseClient.connect(_door(stack_env), _key(stack_env, "SQ-FGW")) as sdk:
            again = await sdk.launch(
                case_number=case_number, matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ", title="stack test"
            )
            assert (await again.state()).stage is CaseStage.LAUNCHED, "launching it again returns the same case"
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
