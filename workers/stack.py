"""The embedded stack behind `caseloop up`: Temporal dev server on SQLite, store, worker, front door, metrics, one
process.

Everything lives under the data directory, so a second `caseloop up` on it finds what the first one left.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from activities.store import migrate
from activities.store.db import redacted_url
from activities.store.registry import RegistryRepository
from schemas import search_attributes
from services.registry.sample import load_sample_registry_if_empty
from workers.binaries import temporal_cli
from workers.client import connect, ensure_search_attributes, unreachable_reason
from workers.codec_server import SESSION_PATH, build_codec_app
from workers.door.app import build_app
from workers.door.credentials import issue_development_credentials, write_development_credentials
from workers.door.serve import serving
from workers.metrics import domain_metrics_endpoint, sdk_runtime
from workers.resources import open_resources
from workers.schedules import ensure_schedules
from workers.settings import Settings
from workers.stand_in import COLLECTORS, run_price_collectors
from workers.worker import build_worker

log = structlog.get_logger(__name__)

SERVER_START_TIMEOUT = 90.0
SERVER_STOP_TIMEOUT = 20.0


class StackError(Exception):
    """The stack cannot start; the message says why and what to do."""


class TemporalUnreachable(StackError):
    """The Temporal target of the settings does not answer."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    port: int


def planned_endpoints(settings: Settings) -> list[Endpoint]:
    endpoints = [
        Endpoint("front door (HTTP API)", settings.api_port),
        Endpoint("Temporal frontend (gRPC)", settings.temporal_port),
        Endpoint("Temporal Web UI", settings.ui_port),
        Endpoint("Temporal server metrics", settings.server_metrics_port),
    ]
    if settings.metrics_port:
        endpoints.append(Endpoint("caseloop metrics", settings.metrics_port))
    if settings.sdk_metrics_port:
        endpoints.append(Endpoint("worker SDK metrics", settings.sdk_metrics_port))
    if settings.payload_keyring() is not None:
        endpoints.append(Endpoint("codec server", settings.codec_port))
    return endpoints


def taken_ports(settings: Settings) -> list[Endpoint]:
    taken = []
    for endpoint in planned_endpoints(settings):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the servers do: a port whose last connections linger in TIME-WAIT is free to listen on.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((settings.bind_host, endpoint.port))
            except OSError:
                taken.append(endpoint)
    return taken


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[int]:
    """One stack per data directory: two Temporal servers on one SQLite file would corrupt it.

    Yields the locked descriptor. The Temporal server inherits it, so the lock lasts as long as the server does,
    even if this process is killed first.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    # "a+", not "w": opening must not wipe the holder's pid before the lock is known to be free.
    with open(data_dir / "caseloop.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise StackError(
                f"another `caseloop up` (pid {holder}) or the Temporal server it started is running on "
                f"{data_dir.resolve()}; stop it first"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield handle.fileno()


_CLI_TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
}


def server_command(settings: Settings) -> list[str]:
    command = [
        str(temporal_cli()),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.temporal_db_path.resolve()),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--ip",
        settings.bind_host,
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.ui_port),
        "--metrics-port",
        str(settings.server_metrics_port),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
        # Many cases wait on long-running updates at once; the default cap of 1,200 is too low.
        "--dynamic-config-value",
        "frontend.namespaceCount=10000",
    ]
    for key in search_attributes.ALL:
        command += ["--search-attribute", f"{key.name}={_CLI_TYPE_NAMES[key.indexed_value_type]}"]
    if settings.payload_keyring() is not None:
        command += ["--ui-codec-endpoint", codec_url(settings)]
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    return command


def _local_host(settings: Settings) -> str:
    return "127.0.0.1" if settings.bind_host in ("0.0.0.0", "::") else settings.bind_host


def codec_url(settings: Settings) -> str:
    """Where the embedded UI's page, in the browser, finds the codec server."""
    return f"http://{_local_host(settings)}:{settings.codec_port}"


PR_SET_PDEATHSIG = 1
# Looked up now: the hook below runs between fork and exec, where resolving a symbol could take a lock that a
# thread of the parent held at the fork.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _dies_with(parent: int) -> Callable[[], None]:
    """A preexec hook: the child is killed when `parent` (the thread that forks it, here the event loop's) dies,
    however it dies (SIGKILL, the OOM killer). Linux only; elsewhere the inherited lock still refuses a second
    stack while an orphaned server lives."""

    def hook() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above: no signal would come
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


@contextlib.asynccontextmanager
async def temporal_server(settings: Settings, lock: int | None = None) -> AsyncIterator[asyncio.subprocess.Process]:
    """Runs the dev server in its own process group and always takes the whole group down on exit.

    The server dies with this process, and holds `lock` (the data directory's) for as long as it lives.
    """
    log_path = settings.data_dir / "temporal.log"
    with open(log_path, "ab") as server_log:  # noqa: ASYNC230 (once per start, before anything runs)
        process = await asyncio.create_subprocess_exec(
            *server_command(settings),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=server_log,
            stderr=server_log,
            start_new_session=True,
            pass_fds=() if lock is None else (lock,),
            preexec_fn=_dies_with(os.getpid()),
        )
    try:
        yield process
    finally:
        await _stop_process_group(process)


async def _stop_process_group(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), SERVER_STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def wait_for_server(settings: Settings, process: asyncio.subprocess.Process, runtime: Runtime | None) -> Client:
    deadline = asyncio.get_running_loop().time() + SERVER_START_TIMEOUT
    while True:
        if process.returncode is not None:
            raise StackError(
                f"the Temporal server exited with code {process.returncode}; see {settings.data_dir / 'temporal.log'}"
            )
        try:
            return await connect(settings, runtime)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise StackError(f"the Temporal server did not answer within {SERVER_START_TIMEOUT:.0f} s") from None
            await asyncio.sleep(0.5)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_stack(settings: Settings) -> None:
    """Brings the stack up, prints where everything is, and stops all of it on Ctrl-C or SIGTERM."""
    taken = taken_ports(settings)
    if taken:
        names = ", ".join(f"{e.port} ({e.name})" for e in taken)
        raise StackError(f"port already in use: {names}; free it or choose another port in CASELOOP_* settings")
    stop = _stop_event()
    with data_dir_lock(settings.data_dir) as lock:
        revision = await migrate.upgrade(settings.resolved_store_url)
        log.info("store migrated", revision=revision, url=redacted_url(settings.resolved_store_url))
        async with temporal_server(settings, lock) as process:
            runtime = sdk_runtime(settings)
            client = await wait_for_server(settings, process, runtime)
            # The server's --search-attribute flags register only into a fresh database: a data directory from an
            # earlier version gets the attributes added since (CaseloopParties) here.
            await ensure_search_attributes(client, settings.temporal_namespace)
            with domain_metrics_endpoint(settings) as metrics_url:
                async with open_resources(settings) as resources:
                    loaded = await load_sample_registry_if_empty(resources.sessions)
                    if loaded is not None:
                        log.info("sample registry for Suqian loaded into the fresh store", summary=loaded.model_dump())
                    if loaded is not None or not credentials_path(settings).exists():
                        await _issue_development_credentials(settings, resources.sessions)
                    worker = build_worker(client, resources)
                    worker_task = asyncio.create_task(worker.run())
                    await ensure_schedules(client, settings)
                    door_app = build_app(settings, sessions=resources.sessions)
                    async with (
                        _codec_server(settings, resources.sessions),
                        serving(door_app, settings.bind_host, settings.api_port) as door,
                    ):
                        _print_endpoints(settings, metrics_url)
                        collectors = _stand_in_collectors(settings, stop)
                        stopped = asyncio.create_task(stop.wait())
                        server_exit = asyncio.create_task(process.wait())
                        await asyncio.wait({stopped, server_exit, worker_task}, return_when=asyncio.FIRST_COMPLETED)
                        log.info("stopping")
                        door.should_exit = True  # the door finishes the requests in flight before the worker stops
                    if not worker_task.done():
                        await worker.shutdown()
                    for task in (stopped, server_exit, *collectors):
                        task.cancel()
                    if worker_task.done() and worker_task.exception():
                        raise StackError(f"the worker stopped: {worker_task.exception()}")
                    if process.returncode is not None and not stop.is_set():
                        raise StackError(f"the Temporal server exited with code {process.returncode}")
    log.info("stopped")


@contextlib.asynccontextmanager
async def _codec_server(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """The embedded UI's codec server, when payloads are encrypted: the UI was started pointing at it."""
    if settings.payload_keyring() is None:
        yield
        return
    async with serving(build_codec_app(settings, sessions=sessions), settings.bind_host, settings.codec_port):
        yield


def _stand_in_collectors(settings: Settings, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """The sample's price collectors deliver each day's prices through the door (`workers.stand_in`), with their
    development key; none when the registry or the keys have no such department."""
    try:
        keys = json.loads(credentials_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    key = keys.get(COLLECTORS) if isinstance(keys, dict) else None
    if not isinstance(key, str):
        return []
    url = f"http://{_local_host(settings)}:{settings.api_port}"
    return [asyncio.create_task(run_price_collectors(url, key, stop))]


def credentials_path(settings: Settings) -> Path:
    """Where `caseloop up` leaves the development keys of the registry's departments (dept → key, mode 0600)."""
    return settings.data_dir / "credentials.json"


async def _issue_development_credentials(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """A development key for every department of the registry, so the demo and the README's examples can act as
    each of them through the door; `issue_development_credentials` refuses this in production."""
    async with sessions() as session:
        departments = [department.code for department in await RegistryRepository(session).departments()]
    keys = await issue_development_credentials(sessions, settings, departments)
    write_development_credentials(credentials_path(settings), keys)
    log.info("development credentials issued", departments=len(departments), path=str(credentials_path(settings)))


def _print_endpoints(settings: Settings, metrics_url: str | None) -> None:
    host = settings.bind_host
    lines = [
        "caseloop is up:",
        f"  front door (API)    http://{host}:{settings.api_port} (reference at /docs)",
        f"  development keys    {credentials_path(settings).resolve()}",
        f"  Temporal Web UI     http://{host}:{settings.ui_port}",
    ]
    if settings.payload_keyring() is not None:
        lines.append(f"  codec server        {codec_url(settings)} (decodes the UI's payloads for supervisors' keys)")
        lines.append(f"  codec sign-in       {codec_url(settings)}{SESSION_PATH} (a supervisor's browser, for the UI)")
    lines += [
        f"  Temporal frontend   {settings.temporal_target} (namespace {settings.temporal_namespace})",
        f"  worker              task queue {settings.task_queue}",
        f"  store               {redacted_url(settings.resolved_store_url)}",
    ]
    if metrics_url:
        lines.append(f"  caseloop metrics    {metrics_url}")
    if settings.sdk_metrics_port:
        lines.append(f"  worker SDK metrics  http://{host}:{settings.sdk_metrics_port}/metrics")
    lines.append(f"  server metrics      http://{host}:{settings.server_metrics_port}/metrics")
    lines.append(f"  data directory      {settings.data_dir.resolve()}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


async def run_worker(settings: Settings) -> None:
    """`caseloop worker`: a worker alone against the Temporal target of the settings (the cluster case)."""
    stop = _stop_event()
    runtime = sdk_runtime(settings)
    try:
        client = await connect(settings, runtime)
    except RuntimeError as error:
        log.warning("temporal unreachable", target=settings.temporal_target, error=str(error))
        raise TemporalUnreachable(
            f"Temporal at {settings.temporal_target} cannot be reached: {unreachable_reason(error)}"
        ) from None
    try:
        added = await ensure_search_attributes(client, settings.temporal_namespace)
    except RPCError as error:  # e.g. a hosted namespace where the operator API is not ours to call
        log.warning("search attributes not checked", error=str(error))
    else:
        if added:
            log.info("search attributes registered", names=added)
    with domain_metrics_endpoint(settings) as metrics_url:
        async with open_resources(settings) as resources:
            worker = build_worker(client, resources)
            worker_task = asyncio.create_task(worker.run())
            await ensure_schedules(client, settings)
            log.info(
                "worker started",
                target=settings.temporal_target,
                namespace=settings.temporal_namespace,
                task_queue=settings.task_queue,
                metrics=metrics_url,
                workflow_sandbox=settings.workflow_sandbox,
            )
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({stopped, worker_task}, return_when=asyncio.FIRST_COMPLETED)
            if not worker_task.done():
                await worker.shutdown()
            stopped.cancel()
            if worker_task.exception():
                raise StackError(f"the worker stopped: {worker_task.exception()}")
