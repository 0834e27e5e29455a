"""`CaseClient`: how a department system starts and drives cases and hand-offs, works joint applications and
scheduled deliveries, makes verification calls, and reads its inbox, through the front door (the caseloop API) with
its own credential.

    client = await CaseClient.connect(url="https://caseloop.example.gov", api_key="clk_…")
    case = await client.launch(case_number="2026-0001", matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ",
                               title="…")
    view = await case.state()

The department a call acts for is the credential's (`client.department`), never an argument: the system that
launches a case is the caller's department, and the registry names the case's coordinator and supervisors.
Every error is a `caseloop.errors.CommandError`: `InputRejected` (rule, field), `Forbidden`, `NotFound`,
`Unreachable` (naming the URL), `CommandTimeout` (naming the command id to retry with).
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError

from caseloop.errors import Forbidden, InputRejected
from caseloop.sdk.actors import CaseActor, OnBehalf
from caseloop.sdk.building import build, command_id_of
from caseloop.sdk.cases import CaseHandle
from caseloop.sdk.failures import invalid, refusal
from caseloop.sdk.transport import Transport
from schemas.access import Caller, CredentialKind
from schemas.case.stages import Priority
from schemas.case.state import CasePolicy, CoUnitNomination, case_id_of
from schemas.clock import ClockUnit, RungSchedule
from schemas.delivery import InboxItem, InboxPage
from schemas.orders import OrderAnswerPost
from schemas.registry import TriggerEvent
from schemas.verification import Purpose, PurposeKind, VerificationAsk, VerificationResult

# The hand-offs, the intake channels, joint applications, scheduled deliveries, the lists and the door's request
# models are imported by the methods that use them: a process that reads one case (`caseloop case show`) imports
# the case's handle and view only (each of those modules builds dozens of pydantic models when imported).
if TYPE_CHECKING:
    from caseloop.sdk.actors import HandoffActor
    from caseloop.sdk.handoffs import HandoffHandle
    from caseloop.sdk.summaries import CaseSummary, HandoffSummary, Many
    from schemas.api import DeadlineRequest, LaunchRequest
    from schemas.handoff import BatchReport, EventBatch, EventReport, SourceEvent, SourceWithdrawal, WithdrawalReport
    from schemas.intake import ChannelKind
    from schemas.intake_api import BatchAnswer, ChannelRecord, IntakeResult
    from schemas.joint.run import JointOpened, JointStart, JointView
    from schemas.scheduled import DeliveryDayView

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_WITHIN = 60.0
# The most a list answers at once (the door's own bound): what `limit=None` asks for.
MOST = 1000


class CaseClient:
    """The SDK's entry point. Create it with `CaseClient.connect(...)`; close it with `close()` or use it as an
    async context manager. Handles it returns share its connection."""

    def __init__(self, transport: Transport, caller: Caller) -> None:
        self._transport = transport
        self._caller = caller

    @classmethod
    async def connect(
        cls, url: str | None = None, api_key: str | None = None, *, within: float | None = DEFAULT_WITHIN
    ) -> CaseClient:
        """Connects to the caseloop API at `url` with the department's `api_key` (an API key or a JWT);
        `CASELOOP_API_URL` and `CASELOOP_API_KEY` when not given (the URL defaults to the embedded stack's,
        http://127.0.0.1:8080). Asks the door once who the credential is: `department` and `kind` then say.

        `within` is how long a call waits for an answer, in seconds (None: no limit); each call may override it.
        Raises `Forbidden` for a refused credential and `Unreachable` when nothing answers at the URL.
        """
        url = url or os.environ.get("CASELOOP_API_URL") or DEFAULT_URL
        api_key = api_key or os.environ.get("CASELOOP_API_KEY")
        if not api_key:
            raise Forbidden("no credential: give CaseClient.connect(api_key=...) or set CASELOOP_API_KEY")
        transport = Transport(url, api_key.strip(), within=within)
        try:
            caller = Caller.model_validate(await transport.get("/v1/me", subject=f"the caseloop API at {url}"))
        except BaseException:
            await transport.close()
            raise
        return cls(transport, caller)

    async def close(self) -> None:
        """Closes the connection to the door."""
        await self._transport.close()

    async def __aenter__(self) -> CaseClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The door's base URL."""
        return self._transport.url

    @property
    def caller(self) -> Caller:
        """Who the credential is, as the door told at `connect`."""
        return self._caller

    @property
    def department(self) -> str:
        """The credential's department: the system that launches, and the department that acts."""
        return self._caller.department

    @property
    def kind(self) -> CredentialKind:
        """`department` for a department's system; `operator` for the city's operators."""
        return self._caller.kind

    # Cases.

    async def launch(
        self,
        request: LaunchRequest | None = None,
        *,
        case_number: str | None = None,
        matter_code: str | None = None,
        locality_code: str | None = None,
        title: str | None = None,
        priority: Priority | str | None = None,
        leader_instruction: bool | None = None,
        co_units: Sequence[CoUnitNomination | Mapping[str, Any] | str] | None = None,
        received_at: datetime | None = None,
        policy: CasePolicy | None = None,
        on_behalf_of: str | None = None,
        on_behalf_reason: str | None = None,
        actor: CaseActor | None = None,
        within: float | None = None,
    ) -> CaseHandle:
        """Registers a case under the department's own case number and returns its handle; idempotent: a case
        number already registered (running or finished) returns that case's handle and starts nothing.

        Only a matter's initiators may launch it (`Forbidden` otherwise). The registry resolves the lead
        department and the locality from `matter_code` and `locality_code`, and names the coordinator and the
        supervisors; the coordinator then accepts the case, which launches it to both at once. A case the
        registry cannot place is registered as rejected (see `state()` and `timeline()`). Co-units are
        department codes, or `{"department": code, "mandatory": False}`. `policy` and `on_behalf_of` (with its
        reason) are an operator's. `actor` is the handle's default actor.

        The system, coordinator and supervisors of earlier releases are no arguments any more: the door takes
        the system from the credential and the others from the registry, and refuses them in a request.
        """
        from schemas.api import LaunchRequest, LaunchResult

        fields: dict[str, Any] = {
            "case_number": case_number,
            "matter_code": matter_code,
            "locality_code": locality_code,
            "title": title,
            "priority": priority,
            "leader_instruction": leader_instruction,
            "co_units": [_co_unit(unit) for unit in co_units] if co_units is not None else None,
            "received_at": received_at,
            "policy": policy,
            "on_behalf_of": on_behalf_of,
            "on_behalf_reason": on_behalf_reason,
        }
        launched = build(LaunchRequest, request, fields)
        body = launched.model_dump(mode="json", exclude_none=True)
        subject = f"case number {launched.case_number} of {launched.on_behalf_of or self.department}"
        answer = LaunchResult.model_validate(
            await self._transport.post("/v1/cases", body, subject=subject, within=within)
        )
        return self.case_by_id(answer.case_id, actor=actor)

    async def take_in(
        self,
        channel: str,
        record: ChannelRecord | Mapping[str, Any],
        *,
        kind: ChannelKind | str | None = None,
        within: float | None = None,
    ) -> IntakeResult:
        """Takes one of an intake channel's own records in (docs/intake.md): a 12345 `HotlineWorkOrder`, a 好差評
        `BadRating`, a 不好辦 `WindowRecord` or a `PrepaidCardComplaint` (`schemas.intake_api`), or its fields with
        the channel's `kind`. Only the channel's own department's key may feed it (`Forbidden` otherwise).

        The record becomes a case under `<channel>.<record number>`; sending it again answers the same case with
        `created` False and starts nothing. A record whose category or area maps to nothing still becomes a case,
        `placed` False, for the coordinator to place by hand. Give the requester the `verification_code`: with
        the case id it opens the public status lookup.
        """
        from schemas.intake_api import ROUTE_OF_KIND, IntakeResult

        taken = _record(record, kind)
        path = f"/v1/intake/{channel}/{ROUTE_OF_KIND[_kind_of(taken)]}"
        body = taken.model_dump(mode="json", exclude_none=True)
        return IntakeResult.model_validate(
            await self._transport.post(path, body, subject=f"a record of channel {channel}", within=within)
        )

    async def take_in_batch(
        self,
        channel: str,
        records: Sequence[ChannelRecord | Mapping[str, Any]],
        *,
        kind: ChannelKind | str | None = None,
        on_behalf_of: str | None = None,
        on_behalf_reason: str | None = None,
        within: float | None = None,
    ) -> BatchAnswer:
        """Takes many records of one channel in (a nightly export): each answers its own outcome (`created`,
        `duplicate`, `rejected` with its problem), a refused record stops none of the others, and sending the batch
        again starts nothing. An operator key feeds a channel for its department with `on_behalf_of` and
        `on_behalf_reason`."""
        from schemas.intake_api import BATCH_OF_KIND, ROUTE_OF_KIND, BatchAnswer

        taken = [_record(record, kind) for record in records]
        if not taken:
            raise InputRejected("records: a batch holds at least one record", rule="too_short", field="records")
        channel_kind = _kind_of(taken[0])
        batch = build(
            BATCH_OF_KIND[channel_kind],
            None,
            {"records": taken, "on_behalf_of": on_behalf_of, "on_behalf_reason": on_behalf_reason},
        )
        body = batch.model_dump(mode="json", exclude_none=True)
        path = f"/v1/intake/{channel}/{ROUTE_OF_KIND[channel_kind]}/batch"
        return BatchAnswer.model_validate(
            await self._transport.post(path, body, subject=f"a batch of channel {channel}", within=within)
        )

    def case(self, case_number: str, *, actor: CaseActor | None = None) -> CaseHandle:
        """The handle of the case the caller's department registered under `case_number`; nothing is called yet.
        Its ID is `case-<department>~<case number>`; the door finds a case launched before under its old ID too."""
        return self.case_by_id(case_id_of(self.department, case_number), actor=actor)

    def case_by_id(self, case_id: str, *, actor: CaseActor | None = None) -> CaseHandle:
        """The handle of a case by its workflow ID, as the Temporal UI and `list()` show it."""
        return CaseHandle(self._transport, self._caller, case_id, actor)

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
        channel: Many | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        running: bool | None = None,
        limit: int | None = 100,
        within: float | None = None,
    ) -> builtins.list[CaseSummary]:
        """Cases the department is party to that match every filter given, newest first, at most `limit`
        (None: as many as the door answers at once, 1000).

        Keyword filters take one value or a sequence (any of them): `stage` (CaseStage), `card_colour`,
        `department` (the lead department), `locality`, `matter`, `priority`, `supervision_level`, `channel` (an
        intake channel's code, `<channel>.<record number>`, or `unplaced`).
        `overdue=True`: a running step deadline has passed; `due_before`: one falls before that instant;
        `running`: the workflow still runs (a closed case runs on through its reopen window).
        """
        params = _filters(locals())  # first: a name imported below would be taken for a filter
        from caseloop.sdk.summaries import CaseSummary

        answer = await self._transport.get("/v1/cases", subject="the case list", params=params, within=within)
        return [CaseSummary.model_validate(item) for item in answer["items"]]

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
        channel: Many | None = None,
        overdue: bool | None = None,
        due_before: datetime | None = None,
        running: bool | None = None,
        within: float | None = None,
    ) -> int:
        """How many cases the department is party to match; the filters are those of `list()`."""
        params = _filters(locals())  # first: a name imported below would be taken for a filter
        from schemas.api import Count

        answer = await self._transport.get("/v1/cases/count", subject="the case count", params=params, within=within)
        return Count.model_validate(answer).count

    # Hand-offs.

    async def report_event(
        self,
        source_event: SourceEvent | None = None,
        /,
        *,
        reference: str | None = None,
        event: TriggerEvent | str | None = None,
        item_code: str | None = None,
        locality_code: str | None = None,
        occurred_at: datetime | None = None,
        decision: str | None = None,
        related_handoff_id: str | None = None,
        package: Mapping[str, Any] | None = None,
        on_behalf_of: str | None = None,
        on_behalf_reason: str | None = None,
        within: float | None = None,
    ) -> EventReport:
        """Reports an event of the department's (an approval closed, an enterprise registered, a penalty decided)
        and starts the hand-offs its collaboration matters call for. Give a `SourceEvent` or its fields: its own
        `reference` (e.g. its case number), the `event`, the approval or supervision `item_code`, where it was
        handled (`locality_code`), when (`occurred_at`, aware), the `decision` and the `package` the receiver
        needs (it may hold personal data: it travels only in encrypted payloads). The reporting department is the
        credential's; a `SourceEvent` naming another is refused (`Forbidden`). An operator credential reports for a
        department with `on_behalf_of` (its code) and `on_behalf_reason`, both recorded in the audit trail.

        Idempotent by the event's key (department, event, reference): reporting it again starts nothing and
        answers outcome `duplicate` with the hand-offs of the first report. `unmatched`: recorded, but no matter
        is triggered by it. Raises `InputRejected` (rule, field) for an event the registry refuses; nothing is
        recorded then, and the corrected event may be reported under the same reference.
        """
        from schemas.handoff import EventOutcome, EventReport, SourceEvent

        behalf = OnBehalf.of(on_behalf_of, on_behalf_reason)
        source = behalf.department if behalf is not None else self.department
        fields = {
            "source_department": source,
            "reference": reference,
            "event": event,
            "item_code": item_code,
            "locality_code": locality_code,
            "occurred_at": occurred_at,
            "decision": decision,
            "related_handoff_id": related_handoff_id,
            "package": dict(package) if package is not None else None,
        }
        reported = build(SourceEvent, source_event, {} if source_event is not None else fields)
        if behalf is None:
            self._own(reported.source_department, "source_department")
        elif reported.source_department != source:
            raise Forbidden(
                f"source_department: this report is on behalf of {source}, not {reported.source_department}"
            )
        subject = f"event {reported.key}"
        body = {**_event_body(reported), **_on_behalf(behalf)}
        answer = await self._transport.post("/v1/events", body, subject=subject, within=within)
        report = EventReport.model_validate(answer)
        if report.outcome is EventOutcome.REJECTED and report.rejection is not None:
            raise refusal(subject, report.rejection)
        return report

    async def report_events(
        self,
        events: EventBatch | Iterable[SourceEvent | Mapping[str, Any]],
        *,
        batch_id: str | None = None,
        on_behalf_of: str | None = None,
        on_behalf_reason: str | None = None,
        within: float | None = None,
    ) -> BatchReport:
        """Reports a batch of the department's events (e.g. a nightly export) under `batch_id`; one report per
        event, in order, each with its own outcome (a refused event is reported `rejected` with its rule, the
        others go on). An operator credential reports the whole batch for one department with `on_behalf_of` and
        `on_behalf_reason`.

        Reporting the same batch id again answers its first report with the started events marked `duplicate`.
        """
        from schemas.handoff import BatchReport, EventBatch, SourceEvent

        behalf = OnBehalf.of(on_behalf_of, on_behalf_reason)
        source = behalf.department if behalf is not None else self.department
        given: builtins.list[SourceEvent | Mapping[str, Any]]
        if isinstance(events, EventBatch):
            batch_id, given = events.batch_id, builtins.list(events.events)
        else:
            if batch_id is None:
                raise InputRejected("batch_id: a batch needs its id", rule="missing", field="batch_id")
            given = builtins.list(events)
        bodies = []
        for index, event in enumerate(given):
            if isinstance(event, SourceEvent):
                named: str | None = event.source_department
                bodies.append(_event_body(event))
            else:
                entry = dict(_json(event))
                named = entry.pop("source_department", None)
                entry.pop("reported_by", None)  # the door records who reported it
                bodies.append(entry)
            if named is not None and named != source:
                raise Forbidden(
                    f"events.{index}.source_department: this batch is {source}'s, not {named} "
                    "(the department comes from the credential, or an operator's on_behalf_of)"
                )
        body = {"batch_id": batch_id, "events": bodies, **_on_behalf(behalf)}
        answer = await self._transport.post("/v1/event-batches", body, subject=f"batch {batch_id}", within=within)
        return BatchReport.model_validate(answer)

    async def withdraw_source(
        self,
        withdrawal: SourceWithdrawal | None = None,
        /,
        *,
        event: TriggerEvent | str | None = None,
        reference: str | None = None,
        reason: str | None = None,
        on_behalf_of: str | None = None,
        on_behalf_reason: str | None = None,
        within: float | None = None,
    ) -> WithdrawalReport:
        """The department's source case was withdrawn (or the entity deregistered): every open hand-off its event
        started is terminated, with the reason. Withdrawing again reports them as already closed. Raises
        `InputRejected` for an event that was never reported; nothing changes then. An operator credential
        withdraws for a department with `on_behalf_of` and `on_behalf_reason`, both recorded in the audit trail."""
        from schemas.handoff import SourceWithdrawal, WithdrawalReport

        behalf = OnBehalf.of(on_behalf_of, on_behalf_reason)
        source = behalf.department if behalf is not None else self.department
        fields = {"source_department": source, "event": event, "reference": reference, "reason": reason}
        given = build(SourceWithdrawal, withdrawal, {} if withdrawal is not None else fields)
        if behalf is None:
            self._own(given.source_department, "source_department")
        elif given.source_department != source:
            raise Forbidden(
                f"source_department: this withdrawal is on behalf of {source}, not {given.source_department}"
            )
        subject = f"withdrawal of {given.key}"
        body = {**given.model_dump(mode="json", exclude={"source_department", "reported_by"}), **_on_behalf(behalf)}
        report = WithdrawalReport.model_validate(
            await self._transport.post("/v1/withdrawals", body, subject=subject, within=within)
        )
        if report.rejection is not None:
            raise refusal(subject, report.rejection)
        return report

    def handoff(self, handoff_id: str, *, actor: HandoffActor | None = None) -> HandoffHandle:
        """The handle of a hand-off by its ID, as `report_event` and `list_handoffs()` answer it."""
        from caseloop.sdk.handoffs import HandoffHandle

        return HandoffHandle(self._transport, self._caller, handoff_id, actor)

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
        within: float | None = None,
    ) -> builtins.list[HandoffSummary]:
        """Hand-offs the department is party to that match every filter given, newest first: `stage`
        (HandoffStage), `colour` (SLA colour), `receiver` (the department the push went to), `locality`,
        `matter`, `direction`, `overdue`, `due_before`, `running`; at most `limit` (None: 1000)."""
        params = _filters(locals())  # first: a name imported below would be taken for a filter
        from caseloop.sdk.summaries import HandoffSummary

        answer = await self._transport.get("/v1/handoffs", subject="the hand-off list", params=params, within=within)
        return [HandoffSummary.model_validate(item) for item in answer["items"]]

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
        within: float | None = None,
    ) -> int:
        """How many hand-offs the department is party to match; the filters are those of `list_handoffs()`."""
        params = _filters(locals())  # first: a name imported below would be taken for a filter
        from schemas.api import Count

        answer = await self._transport.get(
            "/v1/handoffs/count", subject="the hand-off count", params=params, within=within
        )
        return Count.model_validate(answer).count

    # The inbox of departments without a webhook.

    async def read_inbox(
        self,
        department: str | None = None,
        *,
        include_acknowledged: bool = False,
        limit: int = 100,
        within: float | None = None,
    ) -> InboxPage:
        """The pushes waiting for the department, oldest first; acknowledged ones too when asked. The inbox is
        the credential's own: naming another department raises `Forbidden`."""
        self._own(department, "department")
        params = {"include_acknowledged": include_acknowledged, "limit": limit}
        answer = await self._transport.get(
            "/v1/inbox", subject=f"the inbox of {self.department}", params=params, within=within
        )
        return InboxPage.model_validate(answer)

    async def acknowledge_inbox_item(self, item_id: int, *, by: str, within: float | None = None) -> InboxItem:
        """Marks an item of the department's inbox as taken; idempotent (acknowledging again answers the first
        acknowledgement). Another department's item is `NotFound`."""
        answer = await self._transport.post(
            f"/v1/inbox/{int(item_id)}/ack", {"by": by}, subject=f"inbox item {item_id}", within=within
        )
        return InboxItem.model_validate(answer)

    # The legal clock.

    async def deadline(
        self,
        request: DeadlineRequest | None = None,
        *,
        started_at: datetime | None = None,
        limit: float | None = None,
        unit: ClockUnit | str | None = None,
        locality: str | None = None,
        within: float | None = None,
    ) -> RungSchedule:
        """When a limit counted on the legal clock falls due from `started_at` (aware), in `unit` (working days,
        office hours, …) with `locality`'s office hours, and when each warning card of the profile fires; as
        `caseloop deadline` computes it. Pauses, extensions and the card profile go in a `DeadlineRequest`."""
        from schemas.api import DeadlineRequest

        fields = {"from": started_at, "limit": limit, "unit": unit, "locality": locality}
        asked = build(DeadlineRequest, request, fields)
        body = asked.model_dump(mode="json", by_alias=True, exclude_none=True)
        answer = await self._transport.post("/v1/deadlines", body, subject="the legal clock", within=within)
        return RungSchedule.model_validate(answer)

    # Joint applications ("one thing"): departments working one application, each its own step.

    async def open_joint(
        self,
        start: JointStart | None = None,
        *,
        joint_id: str | None = None,
        matter_code: str | None = None,
        application: Mapping[str, str] | None = None,
        within: float | None = None,
    ) -> JointOpened:
        """Opens a joint application of `matter_code` under the department's own `joint_id` (never personal data),
        with the `application` fields its automatic steps ask about (personal data: sealed in history). Only a
        department with a step in the matter may open one (`Forbidden` otherwise). Idempotent by `joint_id`: opening
        it again answers the running application and starts nothing. Give the applicant the `verification_code`:
        with the joint id it opens the public status lookup."""
        from schemas.joint.run import JointOpened, JointStart

        fields = {
            "joint_id": joint_id,
            "matter_code": matter_code,
            "application": dict(application) if application is not None else None,
        }
        opened = build(JointStart, start, fields)
        body = opened.model_dump(mode="json", exclude={"received_at"})
        subject = f"joint application {opened.joint_id}"
        answer = await self._transport.post("/v1/joint", body, subject=subject, within=within)
        return JointOpened.model_validate(answer)

    async def read_joint(self, joint_id: str, *, within: float | None = None) -> JointView:
        """A joint application's steps, cards and orders; for the departments with a step in it (`NotFound` for
        the others)."""
        from schemas.joint.run import JointView

        answer = await self._transport.get(_joint_path(joint_id), subject=_joint(joint_id), within=within)
        return JointView.model_validate(answer)

    async def complete_joint_step(
        self,
        joint_id: str,
        step: str,
        *,
        note: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> JointView:
        """Says the department's `step` of the application is done, with an optional `note`; only the step's own
        department may (`InputRejected`, rule `actor.step_department`, otherwise). `command_id` is the request's
        Idempotency-Key: a retry with the same id is applied once. Answers the application after the step."""
        from schemas.joint.run import StepDone

        body = build(StepDone, None, {"note": note}).model_dump(mode="json", exclude_none=True)
        path = f"{_joint_path(joint_id)}/steps/{_segment(step)}"
        return await self._joint_command(joint_id, path, body, command_id, within)

    async def answer_joint_order(
        self,
        joint_id: str,
        *,
        order_id: str | None = None,
        answer: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> JointView:
        """Answers the supervision order a late step's ladder addressed to the department (the application's
        `orders` list them), as a case's party answers one."""
        body = build(OrderAnswerPost, None, {"order_id": order_id, "answer": answer}).model_dump(mode="json")
        path = f"{_joint_path(joint_id)}/answer-supervision-order"
        return await self._joint_command(joint_id, path, body, command_id, within)

    async def _joint_command(
        self, joint_id: str, path: str, body: dict[str, Any], command_id: str | None, within: float | None
    ) -> JointView:
        from schemas.joint.run import JointView

        answer = await self._transport.post(
            path, body, subject=_joint(joint_id), command_id=command_id_of(command_id), within=within
        )
        return JointView.model_validate(answer)

    # Scheduled deliveries: one department delivers to another on the registry's calendar.

    async def deliver(
        self,
        delivery_code: str,
        day: date,
        records: Sequence[Mapping[str, JsonValue]],
        *,
        command_id: str | None = None,
        within: float | None = None,
    ) -> DeliveryDayView:
        """Delivers the `day`'s `records` of the scheduled delivery `delivery_code`; only its deliverer may
        (`Forbidden` otherwise). After the due time they are accepted and counted late, with a card; a day the
        calendar has not opened is `NotFound`. `command_id` is the request's Idempotency-Key: a retry with the same
        id is applied once."""
        from schemas.scheduled import DeliveryPost

        posted = build(DeliveryPost, None, {"records": [dict(record) for record in records]})
        body = posted.model_dump(mode="json")
        return await self._delivery_command(delivery_code, day, "", body, command_id, within)

    async def reject_delivery(
        self,
        delivery_code: str,
        day: date,
        *,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> DeliveryDayView:
        """The receiver refuses the `day`'s delivery, with its `reason`; the day reopens for the deliverer. Only
        the receiver may (`Forbidden` otherwise)."""
        from schemas.scheduled import DeliveryRejectionPost

        body = build(DeliveryRejectionPost, None, {"reason": reason}).model_dump(mode="json")
        return await self._delivery_command(delivery_code, day, "/rejections", body, command_id, within)

    async def answer_delivery_order(
        self,
        delivery_code: str,
        day: date,
        *,
        order_id: str | None = None,
        answer: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> DeliveryDayView:
        """The deliverer answers the supervision order a missing day issued (the day's `orders` list them)."""
        body = build(OrderAnswerPost, None, {"order_id": order_id, "answer": answer}).model_dump(mode="json")
        return await self._delivery_command(delivery_code, day, "/answer-supervision-order", body, command_id, within)

    async def read_delivery_day(self, delivery_code: str, day: date, *, within: float | None = None) -> DeliveryDayView:
        """A day of a scheduled delivery: expected, delivered, late or missing, its rejections, cards and orders;
        for its deliverer and receiver only (`NotFound` for the others)."""
        from schemas.scheduled import DeliveryDayView

        answer = await self._transport.get(
            _delivery_path(delivery_code, day), subject=_delivery(delivery_code, day), within=within
        )
        return DeliveryDayView.model_validate(answer)

    async def _delivery_command(
        self,
        delivery_code: str,
        day: date,
        verb: str,
        body: dict[str, Any],
        command_id: str | None,
        within: float | None,
    ) -> DeliveryDayView:
        from schemas.scheduled import DeliveryDayView

        answer = await self._transport.post(
            f"{_delivery_path(delivery_code, day)}{verb}",
            body,
            subject=_delivery(delivery_code, day),
            command_id=command_id_of(command_id),
            within=within,
        )
        return DeliveryDayView.model_validate(answer)

    # Verification calls.

    async def verify(
        self,
        ask: VerificationAsk | None = None,
        *,
        item: str | None = None,
        purpose: Purpose | Mapping[str, str] | None = None,
        purpose_kind: PurposeKind | str | None = None,
        purpose_id: str | None = None,
        question: Mapping[str, str] | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> VerificationResult:
        """Checks a fact in another department's system (核驗): the shared data `item` asked with the `question`'s
        fields, for the work in hand (`purpose`, or `purpose_kind` and `purpose_id`: the case, hand-off, joint
        application or delivery). Only for an item the registry grants the credential's department: `Forbidden`
        with rule `verification.grant` and field `item` otherwise (the refusal is recorded). Answers the signed
        answer, or why there is none (`outcome`). `command_id` is the call's id (its Idempotency-Key): asking
        again with it answers the first call's result."""
        if purpose is None and (purpose_kind is not None or purpose_id is not None):
            purpose = {"kind": str(purpose_kind or ""), "id": purpose_id or ""}
        fields = {
            "item": item,
            "purpose": purpose,
            "question": dict(question) if question is not None else None,
        }
        asked = build(VerificationAsk, ask, fields)
        answer = await self._transport.post(
            "/v1/verifications",
            asked.model_dump(mode="json"),
            subject=f"a verification of {asked.item}",
            command_id=command_id_of(command_id),
            within=within,
        )
        return VerificationResult.model_validate(answer)

    def _own(self, department: str | None, field: str) -> None:
        """Refuses, before any request, a department other than the credential's where only its own can be."""
        if department is not None and department != self.department:
            raise Forbidden(
                f"{field}: this credential acts for {self.department}, not {department} "
                "(the department comes from the credential)"
            )


def _segment(value: str) -> str:
    """A path segment as it travels: escaped, so an id cannot reach another route (the door checks its form)."""
    return quote(value, safe="")


def _joint(joint_id: str) -> str:
    return f"joint application {joint_id}"


def _joint_path(joint_id: str) -> str:
    return f"/v1/joint/{_segment(joint_id)}"


def _delivery(delivery_code: str, day: date) -> str:
    return f"the {day.isoformat()} delivery of {delivery_code}"


def _delivery_path(delivery_code: str, day: date) -> str:
    return f"/v1/deliveries/{_segment(delivery_code)}/{day.isoformat()}"


def _record(record: ChannelRecord | Mapping[str, Any], kind: ChannelKind | str | None) -> ChannelRecord:
    from schemas.intake import ChannelKind
    from schemas.intake_api import RECORD_OF_KIND, ChannelRecord

    if isinstance(record, ChannelRecord):
        return record
    if kind is None:
        raise InputRejected("kind: give the channel's kind with a record given as fields", rule="missing", field="kind")
    try:
        model = RECORD_OF_KIND[ChannelKind(kind)]
    except ValueError:
        raise InputRejected(f"kind: {kind!r} is not a channel kind", rule="enum", field="kind") from None
    return build(model, None, dict(record))


def _kind_of(record: ChannelRecord) -> ChannelKind:
    from schemas.intake_api import RECORD_OF_KIND

    return next(kind for kind, model in RECORD_OF_KIND.items() if isinstance(record, model))


def _co_unit(unit: CoUnitNomination | Mapping[str, Any] | str) -> Any:
    return {"department": unit} if isinstance(unit, str) else unit


def _filters(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A list or count call's own arguments (its `locals()` before anything else) as the door's query parameters:
    the filters as given, `due_before` aware, `limit` None for the most the door answers; not `self` or `within`."""
    params = {name: value for name, value in arguments.items() if name not in ("self", "within")}
    due_before = params.get("due_before")
    if due_before is not None and due_before.tzinfo is None:
        raise InputRejected(
            "due_before: give an aware datetime (with its offset)", rule="filter.aware", field="due_before"
        )
    if "limit" in params and params["limit"] is None:
        params["limit"] = MOST
    return params


def _event_body(event: SourceEvent) -> dict[str, Any]:
    """The event as the door takes it: without the reporting department or who reported it (the door's to say)."""
    return event.model_dump(mode="json", exclude={"source_department", "reported_by"})


def _on_behalf(behalf: OnBehalf | None) -> dict[str, str]:
    return {} if behalf is None else {"on_behalf_of": behalf.department, "on_behalf_reason": behalf.reason}


def _json(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A request body: models as their JSON, mappings with their models and instants as JSON too."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    try:
        return _ANY.dump_python(dict(value), mode="json")
    except (ValidationError, TypeError, ValueError) as error:
        if isinstance(error, ValidationError):
            raise invalid(error) from None
        raise InputRejected(f"not JSON: {error}", rule="json") from None


_ANY: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
