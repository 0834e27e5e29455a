"""`CaseClient` of the direct-Temporal transport: what the front door runs on.

    engine = await CaseClient.connect(settings, within=30)
    launched = await engine.start(registration)
    result = await engine.case_by_id(case_id).send(command, command_id=…)

The door decides who acts and builds every command, registration and event; this client only carries them to
Temporal and reads cases and hand-offs back. Every error is a `caseloop.errors.CommandError`: `InputRejected`
(rule, field), `NotFound`, `Unreachable` (naming the target), `CommandTimeout` (naming the command id to retry with).
"""

from __future__ import annotations

import atexit
import builtins
import functools
import gc
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from temporalio.api.workflowservice.v1 import StartWorkflowExecutionResponse
from temporalio.client import Client

from caseloop.direct import intake
from caseloop.direct.case_start import legacy_case, start_case
from caseloop.direct.cases import CaseHandle
from caseloop.direct.channel import Channel
from caseloop.direct.failures import connect_failed
from caseloop.direct.handoffs import HandoffHandle
from caseloop.direct.visibility import case_query, case_summary, handoff_query, handoff_summary
from caseloop.errors import InputRejected, NotFound
from caseloop.sdk.failures import refusal
from schemas.api import CaseSummary, HandoffSummary
from schemas.case import commands as c
from schemas.case.state import CaseRegistration, case_id_parts
from schemas.case.views import CaseView, Timeline
from schemas.handoff import (
    BatchReport,
    EventBatch,
    EventOutcome,
    EventReport,
    SourceEvent,
    SourceWithdrawal,
    WithdrawalReport,
)
from workers.client import connect
from workers.settings import Settings, get_settings

DEFAULT_WITHIN = 60.0


@dataclass(frozen=True)
class Launched:
    """What `start` did: the case's handle, and False in `created` when the case number was registered before."""

    handle: CaseHandle
    created: bool


class CaseClient:
    """The engine's entry point. Create it with `CaseClient.connect(...)`; handles it returns share its
    connection."""

    def __init__(self, temporal: Client, settings: Settings, *, within: float | None = DEFAULT_WITHIN) -> None:
        self._channel = Channel(
            temporal=temporal,
            target=settings.temporal_target,
            namespace=settings.temporal_namespace,
            task_queue=settings.task_queue,
            within=within,
        )

    @classmethod
    async def connect(cls, settings: Settings | None = None, *, within: float | None = DEFAULT_WITHIN) -> CaseClient:
        """Connects to Temporal as the settings say (`CASELOOP_*` variables when None), with the workers' payload
        key. `within` is how long a call waits for an answer, in seconds (None: no limit); each call may override
        it. Raises `Unreachable` when the server does not answer."""
        settings = settings or get_settings()
        try:
            temporal = await connect(settings)
        except RuntimeError as error:
            raise connect_failed(settings.temporal_target, settings.temporal_namespace, error) from None
        _free_clients_before_exit()
        return cls(temporal, settings, within=within)

    async def close(self) -> None:
        """Nothing to release: the Temporal connection closes with the process."""

    async def __aenter__(self) -> CaseClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def temporal(self) -> Client:
        """The underlying Temporal client."""
        return self._channel.temporal

    # Cases.

    async def start(self, registration: CaseRegistration, *, within: float | None = None) -> Launched:
        """Registers a case; idempotent: a case number already registered (running or finished) answers that
        case's handle, with `created` False, and starts nothing. Raises `InputRejected` for a registration that
        differs from the one under that case number (case_number.taken) and for a receipt outside the policy's
        window (received_at.future, received_at.window)."""
        subject = f"case {registration.case_id}"
        refused = registration.receipt_refusal(datetime.now(UTC))
        if refused is not None:
            rule, reason = refused
            raise InputRejected(f"{subject}: {reason}", rule=rule, field="received_at")
        workflow = await self._channel.ask(
            subject,
            start_case(self._channel.temporal, registration, task_queue=self._channel.task_queue),
            within=within,
        )
        # The start's answer says whether the server started a run or handed back the existing one (USE_EXISTING);
        # a case found through WorkflowAlreadyStartedError (a finished one) or under its old ID carries no answer.
        answer = getattr(workflow, "_start_workflow_response", None)
        created = isinstance(answer, StartWorkflowExecutionResponse) and answer.started
        return Launched(CaseHandle(self._channel, workflow.id), created)

    def case_by_id(self, case_id: str) -> CaseHandle:
        """The handle of a case by its workflow ID; nothing is called yet. A case ID of today's form
        (`case-<system>~<number>`) also finds the case that system launched under that number before, under its
        old ID."""
        if case_id_parts(case_id) is None:
            return CaseHandle(self._channel, case_id)
        return _CaseOfEitherId(self._channel, case_id)

    async def list(
        self,
        *,
        limit: int | None = 100,
        where: str | None = None,
        within: float | None = None,
        **filters: Any,
    ) -> builtins.list[CaseSummary]:
        """Cases matching every filter given (the keywords of `case_query`), newest first, at most `limit`
        (None: all). `where` is one more clause of the visibility query, built by this package (e.g.
        `party_clause`), never from user text."""
        query = case_query(**filters)
        return [case_summary(execution) for execution in await self._list(query, where, limit, within)]

    async def count(self, *, where: str | None = None, within: float | None = None, **filters: Any) -> int:
        """How many cases match; the filters are those of `list()`."""
        return await self._count(case_query(**filters), where, within)

    # Hand-offs.

    async def report_event(self, event: SourceEvent, /, *, within: float | None = None) -> EventReport:
        """Reports an event and starts the hand-offs its collaboration matters call for; idempotent by the
        event's key (reporting it again answers outcome `duplicate`). Raises `InputRejected` (rule, field) for an
        event the registry refuses; nothing is recorded then."""
        subject = f"event {event.key}"
        report = await self._channel.ask(
            subject, intake.report_event(self._channel.temporal, event, self._channel.task_queue), within=within
        )
        if report.outcome is EventOutcome.REJECTED and report.rejection is not None:
            raise refusal(subject, report.rejection)
        return report

    async def report_events(self, batch: EventBatch, /, *, within: float | None = None) -> BatchReport:
        """Reports a batch; one report per event, in order, each with its own outcome. Reporting the same batch id
        again answers its first report with the started events marked `duplicate`."""
        return await self._channel.ask(
            f"batch {batch.batch_id}",
            intake.report_events(self._channel.temporal, batch, self._channel.task_queue),
            within=within,
        )

    async def withdraw_source(
        self, withdrawal: SourceWithdrawal, /, *, within: float | None = None
    ) -> WithdrawalReport:
        """The source case was withdrawn: every open hand-off its event started is terminated, with the reason.
        Raises `InputRejected` for an event that was never reported; nothing changes then."""
        subject = f"withdrawal of {withdrawal.key}"
        report = await self._channel.ask(
            subject, intake.withdraw_source(self._channel.temporal, withdrawal, self._channel.task_queue), within=within
        )
        if report.rejection is not None:
            raise refusal(subject, report.rejection)
        return report

    def handoff(self, handoff_id: str) -> HandoffHandle:
        """The handle of a hand-off by its ID, as `report_event` and `list_handoffs()` answer it."""
        return HandoffHandle(self._channel, handoff_id)

    async def list_handoffs(
        self,
        *,
        limit: int | None = 100,
        where: str | None = None,
        within: float | None = None,
        **filters: Any,
    ) -> builtins.list[HandoffSummary]:
        """Hand-offs matching every filter given (the keywords of `handoff_query`), newest first; `where` as for
        `list()`."""
        query = handoff_query(**filters)
        return [handoff_summary(execution) for execution in await self._list(query, where, limit, within)]

    async def count_handoffs(self, *, where: str | None = None, within: float | None = None, **filters: Any) -> int:
        """How many hand-offs match; the filters are those of `list_handoffs()`."""
        return await self._count(handoff_query(**filters), where, within)

    # Visibility.

    async def _list(self, query: str, where: str | None, limit: int | None, within: float | None) -> builtins.list[Any]:
        query = f"{query} AND {where}" if where else query

        async def collect() -> builtins.list[Any]:
            return [execution async for execution in self._channel.temporal.list_workflows(query, limit=limit)]

        return await self._channel.ask("the visibility store", collect(), within=within)

    async def _count(self, query: str, where: str | None, within: float | None) -> int:
        query = f"{query} AND {where}" if where else query
        counted = await self._channel.ask(
            "the visibility store", self._channel.temporal.count_workflows(query), within=within
        )
        return counted.count


class _CaseOfEitherId(CaseHandle):
    """A case by today's ID. Cases launched before keep the ID they had, `case-<system>-<number>`: when today's ID
    finds nothing, that one is tried, and believed once the case's registration names the same system and number.
    """

    def __init__(self, channel: Channel, case_id: str) -> None:
        super().__init__(channel, case_id)
        self._older: CaseHandle | None = None

    async def state(self, *, within: float | None = None) -> CaseView:
        try:
            return await super().state(within=within)
        except NotFound:
            return await (await self._old_case(within)).state(within=within)

    async def timeline(self, *, after_seq: int = 0, limit: int = 100, within: float | None = None) -> Timeline:
        try:
            return await super().timeline(after_seq=after_seq, limit=limit, within=within)
        except NotFound:
            return await (await self._old_case(within)).timeline(after_seq=after_seq, limit=limit, within=within)

    async def send(
        self, command: c.CaseCommand, *, command_id: str | None = None, within: float | None = None
    ) -> c.CommandResult:
        # A command to a workflow that does not exist is applied nowhere: sending it to the old ID applies it once.
        try:
            return await super().send(command, command_id=command_id, within=within)
        except NotFound:
            return await (await self._old_case(within)).send(command, command_id=command_id, within=within)

    async def _old_case(self, within: float | None) -> CaseHandle:
        if self._older is None:
            parts = case_id_parts(self.case_id)
            assert parts is not None  # only today's IDs get this handle
            found = await self._channel.ask(
                f"case {self.case_id}", legacy_case(self._channel.temporal, *parts), within=within
            )
            if found is None:
                raise NotFound(f"case {self.case_id} does not exist")
            self._older = CaseHandle(self._channel, found[0])
        return self._older


@functools.cache
def _free_clients_before_exit() -> None:
    """A Temporal client first freed while the interpreter finalizes aborts the process from the SDK's Rust
    threads (temporalio/sdk-python#300; one short script in five here). Its reference cycle would keep it until
    then; at-exit callbacks run while the interpreter is still whole, so one collection there frees it in time."""
    atexit.register(gc.collect)
