"""`caseloop api` as production runs it: a subprocess on a free port against the dev server, serving until SIGTERM,
with its own metrics endpoint (the inbox calls it counted); an unreachable Temporal and a taken port are said
plainly, and nothing is left running."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from activities.store.db import create_engine, create_session_factory
from tests.support.department_world import APPROVAL_BUREAU, sample_store, target_of
from tests.support.embedded_stack import alive, descendants, free_ports, kill_stack
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.settings import Settings


def door_environment(data_dir: Path, store_url: str, temporal_target: str) -> dict[str, str]:
    """The process environment of `caseloop api` on a free port, without the caller's own CASELOOP_* settings."""
    port, metrics = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOOP_")}
    env.update(
        CASELOOP_DATA_DIR=str(data_dir),
        CASELOOP_STORE_URL=store_url,
        CASELOOP_TEMPORAL_TARGET=temporal_target,
        CASELOOP_API_PORT=str(port),
        CASELOOP_API_METRICS_PORT=str(metrics),
        CASELOOP_LOG_FORMAT="json",
    )
    return env


def start_door(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "caseloop.cli", "api"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_door(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "api"], env=env, capture_output=True, text=True, timeout=120
    )


def output(log: Path) -> str:
    return log.read_text(errors="replace")


def door_url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['CASELOOP_API_PORT']}"


async def wait_serving(process: subprocess.Popen[bytes], env: dict[str, str], log: Path) -> None:
    """Until /healthz answers; a door that exits first fails the test with its log."""
    async with httpx.AsyncClient(base_url=door_url(env), timeout=5) as http:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"caseloop api exited with {process.returncode}:\n{output(log)}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    pytest.fail(f"caseloop api did not serve:\n{output(log)}")


@pytest.fixture
def door_process() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Whatever door a test starts is killed if the test fails half-way."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        kill_stack(process)


async def test_api_serves_and_stops_cleanly_on_sigterm(
    dev_env: WorkflowEnvironment, tmp_path: Path, door_process: list[subprocess.Popen[bytes]]
) -> None:
    store = await sample_store(tmp_path)
    env = door_environment(tmp_path, store, target_of(dev_env))
    database = create_engine(store)
    try:
        settings = Settings(_env_file=None, data_dir=tmp_path, store_url=store)  # type: ignore[call-arg]
        issued = await issue_credential(create_session_factory(database), settings, APPROVAL_BUREAU, created_by="tests")
    finally:
        await database.dispose()
    log = tmp_path / "api.log"
    process = start_door(env, log)
    door_process.append(process)
    await wait_serving(process, env, log)
    async with httpx.AsyncClient(base_url=door_url(env), timeout=30) as http:
        served = await http.get("/openapi.json")
        assert served.status_code == 200
        assert served.json() == build_app(settings).openapi()
        assert (await http.get("/v1/me")).status_code == 401
        me = await http.get("/v1/me", headers={"Authorization": f"Bearer {issued.api_key}"})
        assert me.status_code == 200, me.text
        assert (me.json()["department"], me.json()["credential_id"]) == (APPROVAL_BUREAU, f"key:{issued.key_id}")
        # The door counts its inbox calls on its own metrics endpoint, every registry code's series from 0.
        metrics_url = f"http://127.0.0.1:{env['CASELOOP_API_METRICS_PORT']}/metrics"
        before = _inbox_calls((await http.get(metrics_url)).text)
        assert before[(APPROVAL_BUREAU, "read")] == 0 and len(before) > 2, before
        read = await http.get("/v1/inbox", headers={"Authorization": f"Bearer {issued.api_key}"})
        assert read.status_code == 200, read.text
        after = _inbox_calls((await http.get(metrics_url)).text)
        assert {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)} == {
            (APPROVAL_BUREAU, "read"): 1
        }
    children = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 60)
    assert code == 0, output(log)
    assert {pid for pid in children if alive(pid)} == set(), "child processes left running"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(env["CASELOOP_API_PORT"])), timeout=5).close()
    assert "front door stopped" in output(log)


def _inbox_calls(served: str) -> dict[tuple[str, str], float]:
    return {
        (sample.labels["department"], sample.labels["call"]): sample.value
        for family in text_string_to_metric_families(served)
        for sample in family.samples
        if sample.name == "caseloop_inbox_calls_total"
    }


def test_api_says_plainly_when_temporal_is_unreachable(tmp_path: Path) -> None:
    [nowhere] = free_ports(1)
    env = door_environment(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", f"127.0.0.1:{nowhere}")
    result = run_door(env)
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"caseloop: the front door cannot start: Temporal at 127.0.0.1:{nowhere} (namespace default) cannot be "
        "reached: nothing listens there; check CASELOOP_TEMPORAL_TARGET"
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_api_refuses_a_taken_port(tmp_path: Path) -> None:
    [nowhere] = free_ports(1)
    env = door_environment(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", f"127.0.0.1:{nowhere}")
    port = int(env["CASELOOP_API_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = run_door(env)
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.strip() == f"caseloop: the front door cannot listen on 127.0.0.1:{port}: Address already in use"
    )


async def test_api_refuses_a_taken_metrics_port(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    env = door_environment(tmp_path, await sample_store(tmp_path), target_of(dev_env))
    port = int(env["CASELOOP_API_METRICS_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = await asyncio.to_thread(run_door, env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"caseloop: the front door's metrics cannot listen on 127.0.0.1:{port}: Address already in use; set "
        "CASELOOP_API_METRICS_PORT (0: off)"
    ), result.stderr
