"""`caseloop up` as a user runs it: a subprocess on free ports, a case through it, SIGTERM, and a restart; SIGKILL
leaves no server behind, and the codec server decodes the embedded UI's payloads for supervisors only."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from caseloop import CaseClient
from schemas.case.stages import CaseStage
from schemas.case.views import CaseView
from tests.support.embedded_stack import (
    descendants,
    development_key,
    door_url,
    kill_stack,
    launch_and_accept,
    open_files,
    stack_environment,
    start_stack,
    stop_stack,
    wait_gone,
    wait_ready,
)
from workers.schedules import RECONCILIATION_SCHEDULE_ID
from workers.stack import StackError, data_dir_lock

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


async def _state(env: dict[str, str], case_number: str) -> CaseView:
    async with await CaseClient.connect(door_url(env), development_key(env, "SQ-FGW")) as client:
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
            door = await http.get(f"{door_url(stack_env)}/openapi.json")
            assert door.status_code == 200, "the stack serves the front door"
        keys = Path(stack_env["CASELOOP_DATA_DIR"]) / "credentials.json"
        assert keys.stat().st_mode & 0o777 == 0o600, "the development keys are the owner's only"
        case_number = f"XM-{uuid.uuid4().hex[:8]}"
        launched = await launch_and_accept(stack_env, case_number)
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
        async with await CaseClient.connect(door_url(stack_env), development_key(stack_env, "SQ-FGW")) as sdk:
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


def _up_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`caseloop up` run to its end: for one that is refused."""
    return subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "up"], env=env, capture_output=True, text=True, timeout=60
    )


async def _decode(env: dict[str, str], payloads: str, who: str) -> list[bytes]:
    """What the codec server answers the embedded UI's page for `who`: the payloads' data."""
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"http://127.0.0.1:{env['CASELOOP_CODEC_PORT']}/decode",
            content=payloads,
            headers={
                "Authorization": f"Bearer {development_key(env, who)}",
                "Content-Type": "application/json",
                "X-Namespace": "default",
                "Origin": f"http://127.0.0.1:{env['CASELOOP_UI_PORT']}",
            },
        )
    assert answer.status_code == 200, answer.text
    return [base64.b64decode(payload["data"]) for payload in answer.json()["payloads"]]


async def test_a_killed_stack_takes_its_server_along_and_its_data_directory_starts_again(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = stack_env | {"CASELOOP_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode()}
    lock = Path(env["CASELOOP_DATA_DIR"]) / "caseloop.lock"  # tmp_path is resolved already, as /proc shows it
    first = start_stack(env, tmp_path / "up-1.log")
    try:
        wait_ready(first, tmp_path / "up-1.log")
        server = descendants(first.pid)
        assert server, "the Temporal server runs as a child"
        assert any(lock in open_files(pid) for pid in server), "the server holds the data directory's lock"

        # With a key, the embedded UI decodes through the stack's codec server: a case's input in clear for the
        # supervisor, ciphertext for a department that is no supervisor.
        async with httpx.AsyncClient(timeout=10) as http:
            ui = (await http.get(f"http://127.0.0.1:{env['CASELOOP_UI_PORT']}/api/v1/settings")).json()
        assert ui["Codec"]["Endpoint"] == f"http://127.0.0.1:{env['CASELOOP_CODEC_PORT']}"
        case_number = f"XM-{uuid.uuid4().hex[:8]}"
        launched = await launch_and_accept(env, case_number)
        temporal = await Client.connect(env["CASELOOP_TEMPORAL_TARGET"])
        history = await temporal.get_workflow_handle(launched.case_id).fetch_history()
        started = json_format.MessageToJson(history.events[0].workflow_execution_started_event_attributes.input)
        assert b"stack test" in (await _decode(env, started, "SQ-DCS"))[0]
        assert b"stack test" not in (await _decode(env, started, "SQ-FGW"))[0]

        # A second stack on the same data directory, on ports of its own, is refused.
        elsewhere = stack_environment(Path(env["CASELOOP_DATA_DIR"]))
        refused = _up_once(elsewhere)
        assert refused.returncode == 1
        assert f"another `caseloop up` (pid {first.pid}) or the Temporal server it started" in refused.stderr

        os.kill(first.pid, signal.SIGKILL)  # the OOM killer, kill -9: no handler runs
        first.wait(timeout=30)
        assert wait_gone(server) == set(), "the Temporal server died with its parent"
    finally:
        kill_stack(first)

    second = start_stack(env, tmp_path / "up-2.log")
    try:
        wait_ready(second, tmp_path / "up-2.log")
        assert (await _state(env, case_number)).stage is CaseStage.LAUNCHED, "the case survived the kill"
    finally:
        code, left = stop_stack(second)
    assert code == 0, (tmp_path / "up-2.log").read_text()
    assert left == set()


def test_the_lock_lasts_as_long_as_a_process_that_inherited_it(tmp_path: Path) -> None:
    """Where the server could outlive its parent (no PR_SET_PDEATHSIG), the lock it inherited still refuses a
    second stack until it is gone."""
    with data_dir_lock(tmp_path) as lock:
        holder = subprocess.Popen(["sleep", "60"], pass_fds=(lock,))
    try:
        with pytest.raises(StackError, match="the Temporal server it started is running on"), data_dir_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    with data_dir_lock(tmp_path):
        pass
