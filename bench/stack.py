"""The benchmark's own stack on loopback: the dev server on a SQLite WAL file in a temporary directory (as `caseloop
up` starts it), the caseloop worker and the front door as the production commands (`caseloop worker`, `caseloop
api`), the bare worker, and a registry with the benchmark's matters and a department whose pushes come here.

Setup runs the production CLI in-process (`db upgrade`, `registry import`, `credentials issue`), so that the
benchmark depends on the commands operators use, not on module paths.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.bare import prepare_wake_db
from caseloop.cli import main as caseloop_cli
from workers.settings import Settings, get_settings
from workers.stack import temporal_server, wait_for_server

REPOSITORY = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Sample registry codes the scenarios play (the registry file shipped with caseloop).
INITIATOR = "SQ-FGW"  # 發改委: launches the benchmark's case matters
COORDINATOR = "SQ-YSB"
LEAD = "SQ-ZJJ"
LOCALITY = "SQ-SCQ"
APPROVAL_BUREAU = "SQ-SPJ"
HEALTH_COMMISSION = "SQ-WJW"  # receives the licence hand-offs; its webhook points at the benchmark
DEPARTMENTS = (INITIATOR, COORDINATOR, LEAD, LOCALITY, APPROVAL_BUREAU, HEALTH_COMMISSION)

CASE_MATTER = "BENCH-CASE"  # 20 working days, as the tests' matters
BURST_MATTER = "BENCH-BURST"  # natural hours, so that a commitment from a receipt lands on a chosen instant
CASE_QUEUE = "bench-caseloop"
BARE_QUEUE = "bench-bare"
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sample_registry() -> Path:
    """The Suqian sample registry file, wherever this version of caseloop keeps it."""
    [found] = sorted(REPOSITORY.glob("*/registry/suqian.yaml"))
    return found


@dataclass
class Process:
    """A process of the stack, sampled for CPU time and resident memory from /proc."""

    name: str
    pid: int

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")


@dataclass
class Stack:
    """Where everything runs and the keys the simulated departments hold."""

    directory: Path
    settings: Settings
    api_url: str
    push_port: int
    keys: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        return self.directory / "store.db"

    @property
    def temporal_db_path(self) -> Path:
        return self.settings.temporal_db_path

    @property
    def wake_db(self) -> Path:
        return self.directory / "bare-wakes.db"

    def key_file(self, department: str) -> Path:
        path = self.directory / f"key-{department}"
        if not path.exists():
            path.write_text(self.keys[department])
            path.chmod(0o600)
        return path

    def cpu(self) -> dict[str, float]:
        return {name: process.cpu_seconds() for name, process in self.processes.items()}

    def rss(self) -> dict[str, float]:
        return {name: process.rss_mb() for name, process in self.processes.items()}

    @staticmethod
    def size_mb(path: Path) -> float:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total / (1 << 20)


def _environment(settings_env: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASELOOP_")}
    env.update(settings_env)
    return env


def _restore_environment(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def _cli(*argv: str) -> str:
    """Runs `caseloop ARGV` in this process and returns what it printed; raises on a non-zero exit."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = caseloop_cli(list(argv))
    if code:
        raise RuntimeError(f"caseloop {' '.join(argv)} exited {code}: {printed.getvalue()}")
    return printed.getvalue()


def _bench_registry(directory: Path, push_url: str) -> Path:
    """The sample registry, with the health commission's pushes sent to `push_url` and the benchmark's matters."""
    document = yaml.safe_load(sample_registry().read_text(encoding="utf-8"))
    for department in document["departments"]:
        if department["code"] == HEALTH_COMMISSION:
            department["webhook_url"] = push_url
            department["secret_ref"] = "bench-wjw"
    for code, limit in ((CASE_MATTER, "20 working-days"), (BURST_MATTER, "2 natural-hours")):
        document["matters"].append(
            {
                "code": code,
                "name": "項目協調(基準測試)",
                "kind": "case",
                "trigger": "issue_raised",
                "initiators": [INITIATOR],
                "lead": LEAD,
                "card_profile": "default",
                "statutory_limit": limit,
            }
        )
    path = directory / "bench-registry.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def _child(name: str, argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as output:
        child = subprocess.Popen(
            argv, env=env, stdout=output, stderr=output, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


async def _wait_for_http(url: str, child: subprocess.Popen[bytes], name: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.returncode}; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                await http.get(url)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer at {url} within {START_TIMEOUT:.0f} s; see {log}")
            await asyncio.sleep(0.2)


async def _wait_for_line(log: Path, text: str, child: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while text not in await asyncio.to_thread(log.read_text, errors="replace"):
        if child.poll() is not None:
            raise RuntimeError(f"{name} exited with {child.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within {START_TIMEOUT:.0f} s; see {log}")
        await asyncio.sleep(0.2)


def workflow_sandbox() -> str:
    """The caller's `CASELOOP_WORKFLOW_SANDBOX`, else the service's default (off), for both workers."""
    return os.environ.get("CASELOOP_WORKFLOW_SANDBOX", "false")


@contextlib.asynccontextmanager
async def running_stack(keep: Path | None = None) -> AsyncIterator[Stack]:
    """The whole stack in a temporary directory (or `keep`), stopped and removed when the block ends."""
    with contextlib.ExitStack() as cleanup:
        if keep is None:
            directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="caseloop-bench-")))
        else:
            directory = keep
            directory.mkdir(parents=True, exist_ok=True)
        api_port, push_port = free_port(), free_port()
        env = {
            "CASELOOP_DATA_DIR": str(directory),
            "CASELOOP_STORE_URL": f"sqlite+aiosqlite:///{directory / 'store.db'}",
            "CASELOOP_TEMPORAL_TARGET": f"127.0.0.1:{free_port()}",
            "CASELOOP_UI_PORT": str(free_port()),
            "CASELOOP_SERVER_METRICS_PORT": str(free_port()),
            "CASELOOP_API_PORT": str(api_port),
            "CASELOOP_API_URL": f"http://127.0.0.1:{api_port}",
            "CASELOOP_METRICS_PORT": "0",
            "CASELOOP_API_METRICS_PORT": "0",  # the door's own: a stack already up on this machine holds 9467
            "CASELOOP_SDK_METRICS_PORT": "0",
            "CASELOOP_TASK_QUEUE": CASE_QUEUE,
            "CASELOOP_LOG_LEVEL": "WARNING",
            "CASELOOP_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
            "CASELOOP_SECRET_BENCH_WJW": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
            # A nightly batch of thousands of events is one request and one long command.
            "CASELOOP_API_MAX_BODY_BYTES": str(32 << 20),
            "CASELOOP_API_COMMAND_SECONDS": "600",
            # Both workers run workflow code as the caller asks, by default as a worker in service does: unsandboxed.
            "CASELOOP_WORKFLOW_SANDBOX": workflow_sandbox(),
        }
        # The in-process CLI and Settings() read them; the caller's environment comes back at the end.
        saved = dict(os.environ)
        cleanup.callback(_restore_environment, saved)
        os.environ.update(env)
        get_settings.cache_clear()
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        async with temporal_server(settings) as server:
            # The CLI runs its own event loop, so it gets a thread of its own; the server boots meanwhile.
            await asyncio.to_thread(_cli, "db", "upgrade")
            registry = _bench_registry(directory, f"http://127.0.0.1:{push_port}/push")
            await asyncio.to_thread(_cli, "registry", "import", str(registry))
            keys = {}
            for department in DEPARTMENTS:
                issued = await asyncio.to_thread(
                    _cli, "credentials", "issue", department, "--comment", "benchmark", "--json"
                )
                keys[department] = json.loads(issued)["api_key"]
            prepare_wake_db(str(directory / "bare-wakes.db"))
            child_env = _environment(env)
            await wait_for_server(settings, server, None)
            stack = Stack(directory, settings, env["CASELOOP_API_URL"], push_port, keys)
            stack.processes["server"] = Process("server", server.pid)
            worker_log, door_log, bare_log = (directory / f"{name}.log" for name in ("worker", "door", "bare"))
            with (
                _child("worker", [str(BIN / "caseloop"), "worker"], child_env, worker_log) as worker,
                _child("door", [str(BIN / "caseloop"), "api"], child_env, door_log) as door,
                _child(
                    "bare",
                    [sys.executable, "-m", "bench.bare", settings.temporal_target, BARE_QUEUE, str(stack.wake_db)],
                    {**child_env, "PYTHONPATH": str(REPOSITORY)},
                    bare_log,
                ) as bare,
            ):
                await _wait_for_http(f"{stack.api_url}/openapi.json", door, "the front door", door_log)
                await _wait_for_line(bare_log, "bare worker running", bare, "the bare worker")
                await asyncio.sleep(1.0)  # the caseloop worker logs nothing at WARNING; give its pollers a moment
                if worker.poll() is not None:
                    raise RuntimeError(f"the caseloop worker exited with {worker.returncode}; see {worker_log}")
                stack.processes.update(
                    worker=Process("worker", worker.pid), door=Process("door", door.pid), bare=Process("bare", bare.pid)
                )
                yield stack
