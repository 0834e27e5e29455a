"""What the fault tests share: the Temporal dev server and `caseloop worker` as subprocesses a test kills and starts
again, cases driven through the engine with retries under the same ids, and the check that every acknowledged
command is in the case's timeline and in the store's audit trail exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.store.ledger.audit import AuditTrailRepository
from activities.store.migrate import upgrade
from caseloop.direct import CaseClient
from caseloop.direct.cases import CaseHandle
from caseloop.errors import CommandTimeout, Unreachable
from schemas.case import commands as c
from schemas.case.stages import Role
from schemas.case.state import CasePolicy, CaseRegistration
from schemas.case.views import CaseView, TimelineEntry
from schemas.ledger import AuditEntry
from services.registry.sample import load_sample_registry_if_empty
from tests.sdk.world import add_launchable_matter
from tests.support.department_world import BUSINESS_OFFICE, SUCHENG, SUPERVISION_OFFICE, sample_store
from tests.support.embedded_stack import free_ports
from workers.client import connect
from workers.resources import Resources, open_resources
from workers.settings import Settings
from workers.stack import server_command

T = TypeVar("T")

INITIATOR = "SQ-FGW"  # the system that launches the fault tests' cases
COORDINATOR = c.Actor(department=BUSINESS_OFFICE, role=Role.COORDINATOR)
# How often a poll looks again at what it waits for; every wait below has a deadline of its own.
POLL = 0.2


async def until(read: Callable[[], Awaitable[T]], expected: Callable[[T], bool], *, within: float, what: str) -> T:
    """Reads until `expected` holds, for at most `within` seconds of the monotonic clock; fails naming `what`."""
    deadline = time.monotonic() + within
    value = await read()
    while not expected(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not so after {within:.0f} s; last seen: {value!r}"[:2000])
        await asyncio.sleep(POLL)
        value = await read()
    return value


def clean_environment(**settings: str) -> dict[str, str]:
    """The process environment without the caller's own CASELOOP_* settings, plus `settings`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CASELOOP_")}
    env.update(settings)
    return env


class Subprocess:
    """A child in a process group of its own, its output in a log file; killed with its group at the end."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command, self.env, self.log = command, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: no handler runs, nothing is flushed."""
        if self.running():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class DevServer(Subprocess):
    """The Temporal dev server as `caseloop up` runs it (`workers.stack.server_command`), on a SQLite file of its own
    and free ports; killed and started again on the same file."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        grpc, ui, metrics = free_ports(3)
        self.settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data_dir,
            temporal_target=f"127.0.0.1:{grpc}",
            ui_port=ui,
            server_metrics_port=metrics,
        )
        super().__init__(server_command(self.settings), clean_environment(), data_dir / "temporal.log")

    @property
    def target(self) -> str:
        return self.settings.temporal_target

    async def client(self, within: float = 60) -> Client:
        """A client once the server answers (a fresh start takes a few seconds)."""
        deadline = time.monotonic() + within
        while True:
            if not self.running():
                raise AssertionError(f"the Temporal server exited:\n{self.log_text()[-3000:]}")
            try:
                return await connect(self.settings)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the Temporal server did not answer in {within:.0f} s") from None
                await asyncio.sleep(POLL)


class WorkerProcess(Subprocess):
    """`caseloop worker` as an operator runs it, on `target`, `task_queue` and `store_url`."""

    def __init__(self, target: str, task_queue: str, store_url: str, data_dir: Path, **settings: str) -> None:
        env = clean_environment(
            CASELOOP_TEMPORAL_TARGET=target,
            CASELOOP_TASK_QUEUE=task_queue,
            CASELOOP_STORE_URL=store_url,
            CASELOOP_DATA_DIR=str(data_dir),
            CASELOOP_METRICS_PORT="0",
            CASELOOP_SDK_METRICS_PORT="0",
            CASELOOP_LOG_FORMAT="json",
            **settings,
        )
        super().__init__([sys.executable, "-m", "caseloop.cli", "worker"], env, data_dir / f"worker-{task_queue}.log")
        self.starts = 0

    async def start_and_wait(self, within: float = 60) -> None:
        """Starts the worker and waits for its "worker started" line."""
        self.start()
        self.starts += 1
        seen = self.starts

        async def started() -> int:
            return self.log_text().count('"worker started"')

        def ready(count: int) -> bool:
            if not self.running():
                raise AssertionError(f"caseloop worker exited:\n{self.log_text()[-3000:]}")
            return count >= seen

        await until(started, ready, within=within, what="caseloop worker started")


@dataclass
class Stack:
    """The dev server and `caseloop worker`, each a process a test kills and starts again, on a store holding the
    sample registry and a case matter of the test's own; the test's own connection to that store."""

    server: DevServer
    worker: WorkerProcess
    temporal: Client
    settings: Settings  # the engine's and the door's: the server, the task queue, the store
    resources: Resources
    matter: str

    @property
    def engine(self) -> CaseClient:
        return CaseClient(self.temporal, self.settings)


@asynccontextmanager
async def running_stack(directory: Path, store_url: str | None = None) -> AsyncIterator[Stack]:
    """A stack in `directory`: on `store_url` (migrated here), else on a SQLite store of its own. Both processes
    are killed when the block ends, whatever state the test left them in."""
    server = DevServer(directory / "temporal")
    server.start()
    if store_url is None:
        store_url = await sample_store(directory)
    else:
        await upgrade(store_url)
    queue = f"faults-{uuid.uuid4()}"
    worker = WorkerProcess(server.target, queue, store_url, directory)
    try:
        temporal = await server.client()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=directory, store_url=store_url, task_queue=queue, temporal_target=server.target
        )
        async with open_resources(settings) as resources:
            await load_sample_registry_if_empty(resources.sessions)
            matter = await add_launchable_matter(resources.sessions, directory, initiator=INITIATOR)
            await worker.start_and_wait()
            yield Stack(server, worker, temporal, settings, resources, matter)
    finally:
        worker.kill()
        server.kill()


def registration(matter: str, case_number: str, **changes: object) -> CaseRegistration:
    """A case of the fault tests: launched by INITIATOR to the sample registry's coordinator and supervisor."""
    values: dict[str, object] = {
        "system": INITIATOR,
        "case_number": case_number,
        "matter_code": matter,
        "locality_code": SUCHENG,
        "title": f"fault test {case_number}",
        "coordinator": BUSINESS_OFFICE,
        "supervisors": [SUPERVISION_OFFICE],
        "policy": CasePolicy(),
    }
    values.update(changes)
    return CaseRegistration.model_validate(values)


MARKER = "comment-"


def comment_id() -> str:
    return f"{MARKER}{uuid.uuid4().hex}"


def comment_text(command_id: str) -> str:
    """A comment's text names its command id, so the timeline and the audit trail show where it went."""
    return f"note {command_id}"


def new_number(prefix: str = "F") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Traffic:
    """Commands sent through the engine, each under its own id and sent again under that id until it is answered;
    what each one answered, by command id, and which are still waiting for their answer."""

    engine: CaseClient
    within: float = 10
    deadline: float = 150
    acknowledged: dict[str, dict[str, c.CommandResult]] = field(default_factory=dict)  # case id → command id → result
    in_flight: set[str] = field(default_factory=set)  # command ids sent and not answered yet
    resent: set[str] = field(default_factory=set)  # command ids (and launches) unanswered once and sent again

    async def persist(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Runs `attempt` until it answers: a timeout or an unreachable server is retried with the same ids, any
        other error fails the test."""
        give_up = time.monotonic() + self.deadline
        while True:
            try:
                return await attempt()
            except (CommandTimeout, Unreachable) as error:
                self.resent.add(what)
                if time.monotonic() > give_up:
                    raise AssertionError(f"{what}: still unanswered after {self.deadline:.0f} s: {error}") from None
                await asyncio.sleep(POLL)

    async def launch(self, registration: CaseRegistration) -> str:
        launched = await self.persist(
            f"launch of {registration.case_id}", lambda: self.engine.start(registration, within=self.within)
        )
        self.acknowledged.setdefault(launched.handle.case_id, {})
        return launched.handle.case_id

    async def send(self, case_id: str, command: c.CaseCommand, command_id: str) -> c.CommandResult:
        handle = self.engine.case_by_id(case_id)
        self.in_flight.add(command_id)
        result = await self.persist(command_id, lambda: handle.send(command, command_id=command_id, within=self.within))
        self.acknowledged.setdefault(case_id, {})[command_id] = result
        self.in_flight.discard(command_id)
        return result

    def answered(self, command_ids: set[str]) -> bool:
        return all(any(command_id in commands for commands in self.acknowledged.values()) for command_id in command_ids)

    async def comment(self, case_id: str, actor: c.Actor = COORDINATOR) -> c.CommandResult:
        """A comment whose text names its command id."""
        command_id = comment_id()
        return await self.send(case_id, c.CommentOnCase(actor=actor, text=comment_text(command_id)), command_id)

    @property
    def count(self) -> int:
        return sum(len(commands) for commands in self.acknowledged.values())


async def whole_timeline(case: CaseHandle) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    after = 0
    for _ in range(100):
        page = await case.timeline(after_seq=after, limit=1000)
        entries += page.entries
        if not page.more or not page.entries:
            return entries
        after = page.entries[-1].seq
    raise AssertionError(f"{case.case_id}: the timeline did not end within 100 pages")


async def audit_trail(sessions: async_sessionmaker[AsyncSession], subject_id: str) -> list[AuditEntry]:
    async with sessions() as session:
        return list(await AuditTrailRepository(session).entries_for(subject_id))


async def assert_exactly_once(
    case: CaseHandle,
    sessions: async_sessionmaker[AsyncSession],
    acknowledged: Mapping[str, c.CommandResult],
    *,
    every_command_answered: bool = True,
    within: float = 30,
) -> CaseView:
    """The case's transitions are numbered 1..seq without a gap in the store's audit trail, the timeline the case
    keeps (its most recent entries) numbers the last of them, both tell the same story, and each acknowledged command
    (by its update id) is there once: at the seq it answered, and a comment (whose text names its id) in one entry of
    the audit trail, and of the timeline if it is still kept there. When every command sent was answered, no other
    comment was applied."""
    view = await case.state()
    timeline = await whole_timeline(case)
    numbered = list(range(1, view.seq + 1))
    kept = [entry.seq for entry in timeline]
    assert kept == numbered[len(numbered) - len(kept) :], f"{case.case_id}: timeline seqs"
    trail = await until(
        lambda: audit_trail(sessions, case.case_id),
        lambda rows: len(rows) >= view.seq,
        within=within,
        what=f"{case.case_id}: the audit trail holds {view.seq} transitions",
    )
    assert [entry.seq for entry in trail] == numbered, f"{case.case_id}: audit trail seqs (a duplicate or a gap)"
    recent = trail[len(trail) - len(timeline) :]
    assert [entry.action for entry in recent] == [entry.action for entry in timeline], f"{case.case_id}: actions"
    notes = _comments_by_marker((entry.seq, entry.note) for entry in timeline)
    reasons = _comments_by_marker((entry.seq, entry.reason) for entry in trail)
    oldest_kept = kept[0] if kept else view.seq + 1
    for command_id, result in acknowledged.items():
        assert result.case_id == case.case_id and result.update_id == command_id
        assert 1 <= result.seq <= view.seq, f"{command_id}: answered seq {result.seq} of {view.seq}"
        if result.command != "comment":
            continue
        marker = _marker(command_id)
        in_trail = reasons.get(marker, [])
        assert in_trail == [result.seq], f"{command_id}: in the audit trail at {in_trail}, answered {result.seq}"
        if result.seq >= oldest_kept:
            in_timeline = notes.get(marker, [])
            assert in_timeline == [result.seq], f"{command_id}: in the timeline at {in_timeline}, answered {result.seq}"
    if every_command_answered:
        # A comment the case never acknowledged must not have been applied either.
        answered = {_marker(command_id) for command_id in acknowledged}
        assert set(reasons) <= answered, f"{case.case_id}: applied but never acknowledged: {set(reasons) - answered}"
    return view


def _comments_by_marker(texts: Iterable[tuple[int, str | None]]) -> dict[str, list[int]]:
    """The seqs at which each comment marker stands in the texts (a timeline's notes, an audit trail's reasons)."""
    seqs: dict[str, list[int]] = {}
    for seq, text in texts:
        for word in (text or "").split():
            if word.startswith(MARKER):
                seqs.setdefault(word, []).append(seq)
    return seqs


def _marker(command_id: str) -> str:
    """The id a comment's text names: the door sends `<department>/<Idempotency-Key>` as the update id."""
    return command_id.rsplit("/", 1)[-1]


async def runs_of(client: Client, case_id: str) -> int:
    """How many runs of the case's workflow ID exist, running or not, once visibility shows at least one."""

    async def listed() -> int:
        return len([run async for run in client.list_workflows(f"WorkflowId = '{case_id}'")])

    return await until(listed, lambda runs: runs >= 1, within=30, what=f"{case_id} visible")


async def failed_workflow_tasks(client: Client, workflow_id: str) -> list[str]:
    """The causes of every failed workflow task in the workflow's history (its latest run's)."""
    handle = client.get_workflow_handle(workflow_id)
    failures = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attributes = event.workflow_task_failed_event_attributes
            failures.append(f"{attributes.cause}: {attributes.failure.message}")
    return failures
