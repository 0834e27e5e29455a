"""`caseloop up` as a user runs it: a subprocess on free ports, a workflow through it, SIGTERM, and a restart."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.health import HealthCheckInput, HealthReport
from workers.schedules import RECONCILIATION_SCHEDULE_ID
from workflows.health import HealthCheckWorkflow

pytestmark = pytest.mark.slow

READY_LINE = "Press Ctrl-C to stop."


def _free_ports(count: int) -> list[int]:
    """Listening ports below the ephemeral range, so outgoing connections cannot take them meanwhile."""
    rng = random.Random()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(20000, 30000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in ports:
            ports.append(port)
    return ports


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    grpc, ui, metrics, sdk, server = _free_ports(5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOOP_")}
    env.update(
        CASELOOP_DATA_DIR=str(tmp_path / "data"),
        CASELOOP_TEMPORAL_TARGET=f"127.0.0.1:{grpc}",
        CASELOOP_UI_PORT=str(ui),
        CASELOOP_METRICS_PORT=str(metrics),
        CASELOOP_SDK_METRICS_PORT=str(sdk),
        CASELOOP_SERVER_METRICS_PORT=str(server),
        CASELOOP_LOG_FORMAT="json",
    )
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "caseloop.cli", "up"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_ready(process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while READY_LINE not in log.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(f"caseloop up exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"caseloop up was not ready in {timeout}s:\n{log.read_text()}")
        time.sleep(0.2)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _stop(process: subprocess.Popen[bytes]) -> tuple[int, set[int]]:
    children = _descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    return code, {pid for pid in children if _alive(pid)}


@pytest.fixture
def running(stack_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = _start(stack_env, tmp_path / "up-1.log")
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


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
    first = _start(stack_env, tmp_path / "up-1.log")
    try:
        _wait_ready(first, tmp_path / "up-1.log")
        assert len(_descendants(first.pid)) >= 1, "the Temporal server runs as a child"
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
        code, left = _stop(first)
    assert code == 0, (tmp_path / "up-1.log").read_text()
    assert left == set(), f"child processes left running: {left}"

    second = _start(stack_env, tmp_path / "up-2.log")
    try:
        _wait_ready(second, tmp_path / "up-2.log")
        client = await Client.connect(stack_env["CASELOOP_TEMPORAL_TARGET"], data_converter=pydantic_data_converter)
        earlier = await client.get_workflow_handle(workflow_id).describe()
        assert earlier.status == WorkflowExecutionStatus.COMPLETED
        schedule = await client.get_schedule_handle(RECONCILIATION_SCHEDULE_ID).describe()
        assert schedule.schedule.spec.calendars, "the monthly reconciliation is scheduled"
        again = await _run_health(stack_env, f"health-{uuid.uuid4()}")
        assert again.store_rows == 2, "the store kept the first run's row"
        assert _registry_departments(stack_env) == departments, "the sample is loaded once"
    finally:
        code, left = _stop(second)
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
