"""`caseloop up` as a user runs it, for tests: a subprocess on free ports in a data directory of its own."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caseloop import CaseClient
from schemas.case.views import CaseView

READY_LINE = "Press Ctrl-C to stop."


# The dev server also listens on its gRPC port + 1000 (its HTTP API), so no chosen port may sit 1000 from another.
HTTP_OFFSET = 1000
SLICE = 5000


def free_ports(count: int) -> list[int]:
    """Listening ports below the ephemeral range, so outgoing connections cannot take them meanwhile, in this test
    process's own slice of 20000-29999: the other xdist worker's stacks run at the same time and once took a port
    this one had chosen ("port already in use")."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = 20000 + (int(worker) % 2 if worker.isdigit() else 0) * SLICE
    rng = random.Random()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(low, low + SLICE - HTTP_OFFSET)
        if any(abs(port - chosen) in (0, HTTP_OFFSET) for chosen in ports):
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


def stack_environment(data_dir: Path) -> dict[str, str]:
    """The process environment of a stack on free ports, without the caller's own CASELOOP_* settings."""
    grpc, ui, metrics, sdk, server, api, codec = free_ports(7)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOOP_")}
    env.update(
        CASELOOP_DATA_DIR=str(data_dir),
        CASELOOP_TEMPORAL_TARGET=f"127.0.0.1:{grpc}",
        CASELOOP_UI_PORT=str(ui),
        CASELOOP_METRICS_PORT=str(metrics),
        CASELOOP_SDK_METRICS_PORT=str(sdk),
        CASELOOP_SERVER_METRICS_PORT=str(server),
        CASELOOP_API_PORT=str(api),
        CASELOOP_CODEC_PORT=str(codec),
        CASELOOP_LOG_FORMAT="json",
    )
    return env


def start_stack(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "caseloop.cli", "up"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while READY_LINE not in log.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(f"caseloop up exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"caseloop up was not ready in {timeout}s:\n{log.read_text()}")
        time.sleep(0.2)


def descendants(pid: int) -> set[int]:
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


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], timeout: float = 30) -> set[int]:
    """Polls /proc until none of `pids` is alive, or `timeout` passes; answers those still alive."""
    deadline = time.monotonic() + timeout
    left = {pid for pid in pids if alive(pid)}
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {pid for pid in left if alive(pid)}
    return left


def open_files(pid: int) -> set[Path]:
    """The files a process holds open, as /proc names them."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.add(Path(os.readlink(fd)))
        except OSError:
            continue  # closed meanwhile
    return found


def stop_stack(process: subprocess.Popen[bytes]) -> tuple[int, set[int]]:
    """SIGTERM, as Ctrl-C would; the exit code and the child processes left alive (there should be none)."""
    children = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    return code, {pid for pid in children if alive(pid)}


def kill_stack(process: subprocess.Popen[bytes]) -> None:
    """What a test leaves behind when it fails half-way: the whole process group, killed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def door_url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['CASELOOP_API_PORT']}"


def development_key(env: dict[str, str], department: str) -> str:
    """The development key `caseloop up` issued for the department into the data directory."""
    keys = json.loads((Path(env["CASELOOP_DATA_DIR"]) / "credentials.json").read_text())
    return str(keys[department])


async def launch_and_accept(env: dict[str, str], case_number: str) -> CaseView:
    """A project problem launched through the door to the sample registry's parties, accepted by the coordinator."""
    async with await CaseClient.connect(door_url(env), development_key(env, "SQ-FGW")) as client:
        case = await client.launch(
            case_number=case_number, matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ", title="stack test"
        )
    async with await CaseClient.connect(door_url(env), development_key(env, "SQ-YSB")) as coordinator:
        await coordinator.case_by_id(case.case_id).accept(actor="coordinator", command_id=f"{case_number}:accept")
    async with await CaseClient.connect(door_url(env), development_key(env, "SQ-FGW")) as client:
        return await client.case(case_number).state()
