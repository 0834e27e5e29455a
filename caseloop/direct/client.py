"""`CaseClient`: how a department system starts and drives cases and hand-offs, and reads its inbox.

    client = await CaseClient.connect(system="12345-hotline")
    case = await client.launch(case_number="2026-0001", matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ",
                               title="…", coordinator="SQ-YSB")
    await case.accept(actor="coordinator:SQ-YSB")
    view = await case.state()

Every error is a `caseloop.errors.CommandError`: `InputRejected` (rule, field), `NotFound`, `Unreachable`
(naming the target), `CommandTimeout` (naming the command id to retry with).
"""

from __future__ import annotations

import atexit
import builtins
import functools
import gc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from pydantic import SecretStr, ValidationError
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionResponse
from temporalio.client import Client

from caseloop.direct.actors import CaseActor, HandoffActor
from caseloop.direct.cases import CaseHandle
from caseloop.direct.channel import Channel, build
from caseloop.direct.failures import connect_failed, invalid, rejected
from caseloop.direct.handoffs import HandoffHandle
from caseloop.direct.inbox import Inbox
from caseloop.direct.visibility import (
    CaseSummary,
    HandoffSummary,
    Many,
    case_query,
    case_summary,
    handoff_query,
    handoff_summary,
)
from caseloop.errors import InputRejected
from schemas.case.stages import Priority
from schemas.case.state import CasePolicy, CaseRegistration, CoUnitNomination, case_id_of
from schemas.delivery import InboxItem, InboxPage
from schemas.handoff import (
    BatchReport,
    EventBatch,
    EventOutcome,
    EventReport,
    SourceEvent,
    SourceWithdrawal,
    WithdrawalReport,
)
from schemas.registry import TriggerEvent
from workers.client import connect
from workers.codec import InvalidKey, parse_key
from workers.settings import Settings, get_settings
from workflows.case.start import start_case
from workflows.handoff import client as intake

DEFAULT_WITHIN = 60.0


@dataclass(frozen=True)
class Launched:
    """What `start` did: the case's handle, and False in `created` when the case number was registered before."""

    handle: CaseHandle
    created: bool


class CaseClient:
    """The SDK's entry point. Create it with `CaseClient.connect(...)`; close it with `close()` or use it as an
    async context manager. Handles it returns share its connection."""

    def __init__(
        self,
        temporal: Client,
        settings: Settings,
        *,
        system: str | None = None,
        within: float | None = DEFAULT_WITHIN,
    ) -> None:
        self._channel = Channel(
            temporal=temporal,
            target=settings.temporal_target,
            namespace=settings.temporal_namespace,
            task_queue=settings.task_queue,
            within=within,
        )
        self._settings = settings
        self._system = system
        self._inbox = Inbox(settings.resolved_store_url)

    @classmethod
    async def connect(
        cls,
        settings: Settings | None = None,
        *,
        target: str | None = None,
        namespace: str | None = None,
        api_key: str | None = None,
        tls: bool | None = None,
        encryption_key: str | None = None,
        task_queue: str | None = None,
        store_url: str | None = None,
        system: str | None = None,
        within: float | None = DEFAULT_WITHIN,
    ) -> CaseClient:
        """Connects to Temporal as the settings say (`CASELOOP_*` variables when `settings` is None); explicit
        arguments override them.

        `encryption_key` must be the workers' key when they encrypt payloads. `system` is the calling department
        system's code (e.g. `12345-hotline`): the default for `launch` and `case`. `within` is how long a call
        waits for an answer, in seconds (None: no limit); each call may override it. `store_url` is only used by
        the inbox methods. Raises `Unreachable` when the server does not answer.
        """
        settings = configured(
            settings or get_settings(),
            target=target,
            namespace=namespace,
            api_key=api_key,
            tls=tls,
            encryption_key=encryption_key,
            task_queue=task_queue,
            store_url=store_url,
        )
        try:
            temporal = await connect(settings)
        except RuntimeError as error:
            raise connect_failed(settings.temporal_target, settings.temporal_namespace, error) from None
        _free_clients_before_exit()
        return cls(temporal, settings, system=system, within=within)

    async def close(self) -> None:
        """Releases the store connection of the inbox methods; the Temporal connection closes with the process."""
        await self._inbox.close()

    async def __aenter__(self) -> CaseClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def temporal(self) -> Client:
        """The underlying Temporal client, for what the SDK does not wrap."""
        return self._channel.temporal

    @property
    def settings(self) -> Settings:
        return self._settings

    # Cases.

    async def launch(
        self,
        registration: CaseRegistration | None = None,
        *,
        case_number: str | None = None,
        matter_code: str | None = None,
        locality_code: str | None = None,
        title: str | None = None,
        coordinator: str | None = None,
        system: str | None = None,
        supervisors: Sequence[str] | None = None,
        priority: Priority | str | None = None,
        leader_instruction: bool | None = None,
        co_units: Sequence[CoUnitNomination | Mapping[str, Any] | str] | None = None,
        received_at: datetime | None = None,
        policy: CasePolicy | None = None,
        actor: CaseActor | None = None,
        within: float | None = None,
    ) -> CaseHandle:
        """Registers a case under the system's own case number and returns its handle; idempotent: a case number
        already registered (running or finished) returns that case's handle and starts nothing.

        The registry resolves the lead department and the locality from `matter_code` and `locality_code`; the
        coordinator then accepts the case, which launches it to both at once. A case the registry cannot place
        is registered as rejected (see `state()` and `timeline()`). Co-units are department codes, or
        `{"department": code, "mandatory": False}`. `actor` is the handle's default actor.
        """
        if registration is None:
            fields: dict[str, Any] = {
                "system": system or self._system,
                "case_number": case_number,
                "matter_code": matter_code,
                "locality_code": locality_code,
                "title": title,
                "coordinator": coordinator,
                "supervisors": list(supervisors) if supervisors is not None else None,
                "priority": priority,
                "leader_instruction": leader_instruction,
                "co_units": [_co_unit(unit) for unit in co_units] if co_units is not None else None,
                "received_at": received_at,
                "policy": policy,
            }
            if fields["system"] is None:
                raise InputRejected(
                    "system: name the department system (here or in CaseClient.connect(system=...))",
                    rule="missing",
                    field="system",
                )
            registration = build(CaseRegistration, None, fields)
        return (await self.start(registration, actor=actor, within=within)).handle

    async def start(
        self, registration: CaseRegistration, *, actor: CaseActor | None = None, within: float | None = None
    ) -> Launched:
        """Registers the case as `launch` does, and says whether this call started it or found it already there."""
        workflow = await self._channel.ask(
            f"case {registration.case_id}",
            start_case(self._channel.temporal, registration, task_queue=self._channel.task_queue),
            within=within,
        )
        # The start's answer says whether the server started a run or handed back the existing one (USE_EXISTING);
        # a case found through WorkflowAlreadyStartedError (a finished one) carries no answer.
        answer = getattr(workflow, "_start_workflow_response", None)
        created = isinstance(answer, StartWorkflowExecutionResponse) and answer.started
        return Launched(CaseHandle(self._channel, registration.case_id, actor), created)

    def case(self, case_number: str, *, system: str | None = None, actor: CaseActor | None = None) -> CaseHandle:
        """The handle of the case the system registered under `case_number`; nothing is called yet."""
        system = system or self._system
        if system is None:
            raise InputRejected(
                "system: name the department system (here or in CaseClient.connect(system=...))",
                rule="missing",
                field="system",
            )
        return CaseHandle(self._channel, case_id_of(system, case_number), actor)

    def case_by_id(self, case_id: str, *, actor: CaseActor | None = None) -> CaseHandle:
        """The handle of a case by its workflow ID, as the Temporal UI and `list()` show it."""
        return CaseHandle(self._channel, case_id, actor)

    async def list(
        self,
        *,
        stage: Many | None = None,
        card_colour: Many | None = None,
        department: Many | None = None,
        locality: Many | None = None,
        matter: Many | None = None,
        priority: Many | None = None,
        supervision_level: Many | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        running: bool | None = None,
        limit: int | None = 100,
        where: str | None = None,
        within: float | None = None,
    ) -> builtins.list[CaseSummary]:
        """Cases matching every filter given, newest first, at most `limit` (None: all).

        Keyword filters take one value or a sequence (any of them): `stage` (CaseStage), `card_colour`,
        `department` (the lead department), `locality`, `matter`, `priority`, `supervision_level`.
        `overdue=True`: a running step deadline has passed; `due_before`: one falls before that instant;
        `running`: the workflow still runs (a closed case runs on through its reopen window). `where` is one more
        clause of the visibility query, built by this package (e.g. `party_clause`), never from user text.
        """
        query = case_query(
            stage=stage,
            card_colour=card_colour,
            department=department,
            locality=locality,
            matter=matter,
            priority=priority,
            supervision_level=supervision_level,
            overdue=overdue,
            due_before=due_before,
            running=running,
        )
        return [case_summary(execution) for execution in await self._list(query, where, limit, within)]

    async def count(
        self,
        *,
        stage: Many | None = None,
        card_colour: Many | None = None,
        department: Many | None = None,
        locality: Many | None = None,
        matter: Many | None = None,
        priority: Many | None = None,
        supervision_level: Many | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        running: bool | None = None,
        where: str | None = None,
        within: float | None = None,
    ) -> int:
        """How many cases match; the filters are those of `list()`."""
        query = case_query(
            stage=stage,
            card_colour=card_colour,
            department=department,
            locality=locality,
            matter=matter,
            priority=priority,
            supervision_level=supervision_level,
            overdue=overdue,
            due_before=due_before,
            running=running,
        )
        return await self._count(query, where, within)

    # Hand-offs.

    async def report_event(
        self,
        source_event: SourceEvent | None = None,
        /,
        *,
        source_department: str | None = None,
        reference: str | None = None,
        event: TriggerEvent | str | None = None,
        item_code: str | None = None,
        locality_code: str | None = None,
        occurred_at: datetime | None = None,
        decision: str | None = None,
        related_handoff_id: str | None = None,
        package: Mapping[str, Any] | None = None,
        within: float | None = None,
    ) -> EventReport:
        """Reports an event (an approval closed, an enterprise registered, a penalty decided) and starts the
        hand-offs its collaboration matters call for. Give a `SourceEvent` or its fields: the reporting
        department, its own `reference` (e.g. its case number), the `event`, the approval or supervision
        `item_code`, where it was handled (`locality_code`), when (`occurred_at`, aware), the `decision` and the
        `package` the receiver needs (it may hold personal data: it travels only in encrypted payloads).

        Idempotent by the event's key (department, event, reference): reporting it again starts nothing and
        answers outcome `duplicate` with the hand-offs of the first report. `unmatched`: recorded, but no matter
        is triggered by it. Raises `InputRejected` (rule, field) for an event the registry refuses; nothing is
        recorded then, and the corrected event may be reported under the same reference.
        """
        fields = {
            "source_department": source_department,
            "reference": reference,
            "event": event,
            "item_code": item_code,
            "locality_code": locality_code,
            "occurred_at": occurred_at,
            "decision": decision,
            "related_handoff_id": related_handoff_id,
            "package": dict(package) if package is not None else None,
        }
        reported = build(SourceEvent, source_event, fields)
        report = await self._channel.ask(
            f"event {reported.key}",
            intake.report_event(self._channel.temporal, reported, self._channel.task_queue),
            within=within,
        )
        if report.outcome is EventOutcome.REJECTED and report.rejection is not None:
            rejection = report.rejection
            raise rejected(f"event {reported.key}: {rejection.message}", rejection.rule, rejection.field)
        return report

    async def report_events(
        self,
        events: EventBatch | Iterable[SourceEvent | Mapping[str, Any]],
        *,
        batch_id: str | None = None,
        within: float | None = None,
    ) -> BatchReport:
        """Reports a batch (e.g. a nightly export) under `batch_id`; one report per event, in order, each with
        its own outcome (a refused event is reported `rejected` with its rule, the others go on).

        Reporting the same batch id again answers its first report with the started events marked `duplicate`.
        """
        if isinstance(events, EventBatch):
            batch = events
        else:
            if batch_id is None:
                raise InputRejected("batch_id: a batch needs its id", rule="missing", field="batch_id")
            try:
                batch = EventBatch(batch_id=batch_id, events=list(events))  # type: ignore[arg-type]
            except ValidationError as error:
                raise invalid(error) from None
        return await self._channel.ask(
            f"batch {batch.batch_id}",
            intake.report_events(self._channel.temporal, batch, self._channel.task_queue),
            within=within,
        )

    async def withdraw_source(
        self,
        withdrawal: SourceWithdrawal | None = None,
        /,
        *,
        source_department: str | None = None,
        event: TriggerEvent | str | None = None,
        reference: str | None = None,
        reason: str | None = None,
        within: float | None = None,
    ) -> WithdrawalReport:
        """The source case was withdrawn (or the entity deregistered): every open hand-off its event started is
        terminated, with the reason. Withdrawing again reports them as already closed. Raises `InputRejected`
        for an event that was never reported; nothing changes then."""
        fields = {"source_department": source_department, "event": event, "reference": reference, "reason": reason}
        given = build(SourceWithdrawal, withdrawal, fields)
        report = await self._channel.ask(
            f"withdrawal of {given.key}",
            intake.withdraw_source(self._channel.temporal, given, self._channel.task_queue),
            within=within,
        )
        if report.rejection is not None:
            rejection = report.rejection
            raise rejected(f"withdrawal of {given.key}: {rejection.message}", rejection.rule, rejection.field)
        return report

    def handoff(self, handoff_id: str, *, actor: HandoffActor | None = None) -> HandoffHandle:
        """The handle of a hand-off by its ID, as `report_event` and `list_handoffs()` answer it."""
        return HandoffHandle(self._channel, handoff_id, actor)

    async def list_handoffs(
        self,
        *,
        stage: Many | None = None,
        colour: Many | None = None,
        receiver: Many | None = None,
        locality: Many | None = None,
        matter: Many | None = None,
        direction: Many | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        running: bool | None = None,
        limit: int | None = 100,
        where: str | None = None,
        within: float | None = None,
    ) -> builtins.list[HandoffSummary]:
        """Hand-offs matching every filter given, newest first: `stage` (HandoffStage), `colour` (SLA colour),
        `receiver` (the department the push went to), `locality`, `matter`, `direction`, `overdue`,
        `due_before`, `running`."""
        query = handoff_query(
            stage=stage,
            colour=colour,
            receiver=receiver,
            locality=locality,
            matter=matter,
            direction=direction,
            overdue=overdue,
            due_before=due_before,
            running=running,
        )
        return [handoff_summary(execution) for execution in await self._list(query, where, limit, within)]

    async def count_handoffs(
        self,
        *,
        stage: Many | None = None,
        colour: Many | None = None,
        receiver: Many | None = None,
        locality: Many | None = None,
        matter: Many | None = None,
        direction: Many | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        running: bool | None = None,
        where: str | None = None,
        within: float | None = None,
    ) -> int:
        """How many hand-offs match; the filters are those of `list_handoffs()`."""
        query = handoff_query(
            stage=stage,
            colour=colour,
            receiver=receiver,
            locality=locality,
            matter=matter,
            direction=direction,
            overdue=overdue,
            due_before=due_before,
            running=running,
        )
        return await self._count(query, where, within)

    # The inbox of departments without a webhook.

    async def read_inbox(self, department: str, *, include_acknowledged: bool = False, limit: int = 100) -> InboxPage:
        """The pushes waiting for `department`, oldest first; acknowledged ones too when asked."""
        return await self._inbox.read(department, include_acknowledged=include_acknowledged, limit=limit)

    async def acknowledge_inbox_item(self, item_id: int, *, by: str) -> InboxItem:
        """Marks an inbox item as taken; idempotent (acknowledging again answers the first acknowledgement)."""
        return await self._inbox.acknowledge(item_id, by=by)

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


@functools.cache
def _free_clients_before_exit() -> None:
    """A Temporal client first freed while the interpreter finalizes aborts the process from the SDK's Rust
    threads (temporalio/sdk-python#300; one short script in five here). Its reference cycle would keep it until
    then; at-exit callbacks run while the interpreter is still whole, so one collection there frees it in time."""
    atexit.register(gc.collect)


def configured(settings: Settings, **overrides: Any) -> Settings:
    """The settings with the explicit arguments that are not None in place of theirs."""
    given = {name: value for name, value in overrides.items() if value is not None}
    if "target" in given:
        given["temporal_target"] = given.pop("target")
    if "namespace" in given:
        given["temporal_namespace"] = given.pop("namespace")
    if "tls" in given:
        given["temporal_tls"] = given.pop("tls")
    if "api_key" in given:
        given["temporal_api_key"] = SecretStr(given.pop("api_key"))
    if "encryption_key" in given:
        try:
            parse_key(given["encryption_key"])
        except InvalidKey as error:
            raise InputRejected(str(error), rule="encryption_key.format", field="encryption_key") from None
        given["encryption_key"] = SecretStr(given["encryption_key"])
    return settings.model_copy(update=given)


def _co_unit(unit: CoUnitNomination | Mapping[str, Any] | str) -> Any:
    return {"department": unit} if isinstance(unit, str) else unit
