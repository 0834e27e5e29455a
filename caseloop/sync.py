"""The SDK for department systems that are not async: the same client, handles and methods, blocking.

    from caseloop.sync import CaseClient

    with CaseClient.connect(url="https://caseloop.example.gov", api_key="clk_…") as client:
        case = client.launch(case_number="2026-0001", matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ", title="…")
        print(case.state().stage)

Each client runs the async SDK on an event loop in a thread of its own, so it works from any thread (also one
that runs an event loop of its own, which it then blocks for the call). Errors are the same `caseloop.errors`.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from caseloop.sdk.cases import CaseHandle as AsyncCaseHandle
from caseloop.sdk.client import CaseClient as AsyncCaseClient
from caseloop.sdk.handoffs import HandoffHandle as AsyncHandoffHandle
from caseloop.sdk.summaries import CaseSummary, HandoffSummary
from schemas.access import Caller, CredentialKind

P = ParamSpec("P")
R = TypeVar("R")


class Portal:
    """An event loop in a daemon thread; blocking callers hand it coroutines and wait for their results."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="caseloop-sdk", daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, R]) -> R:
        future: Future[R] = asyncio.run_coroutine_threadsafe(work, self._loop)
        return future.result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class _Facade:
    def __init__(self, inner: Any, portal: Portal) -> None:
        self._inner = inner
        self._portal = portal


def _blocking(method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]) -> Callable[Concatenate[_Facade, P], R]:
    @functools.wraps(method)
    def call(self: _Facade, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._portal.run(method(self._inner, *args, **kwargs))

    return call


def _blocking_case(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, AsyncCaseHandle]],
) -> Callable[Concatenate[_Facade, P], CaseHandle]:
    @functools.wraps(method)
    def call(self: _Facade, *args: P.args, **kwargs: P.kwargs) -> CaseHandle:
        return CaseHandle(self._portal.run(method(self._inner, *args, **kwargs)), self._portal)

    return call


def _case(method: Callable[Concatenate[Any, P], AsyncCaseHandle]) -> Callable[Concatenate[_Facade, P], CaseHandle]:
    @functools.wraps(method)
    def call(self: _Facade, *args: P.args, **kwargs: P.kwargs) -> CaseHandle:
        return CaseHandle(method(self._inner, *args, **kwargs), self._portal)

    return call


def _handoff(
    method: Callable[Concatenate[Any, P], AsyncHandoffHandle],
) -> Callable[Concatenate[_Facade, P], HandoffHandle]:
    @functools.wraps(method)
    def call(self: _Facade, *args: P.args, **kwargs: P.kwargs) -> HandoffHandle:
        return HandoffHandle(method(self._inner, *args, **kwargs), self._portal)

    return call


def _connecting(connect: Callable[P, Coroutine[Any, Any, AsyncCaseClient]]) -> Callable[P, CaseClient]:
    @functools.wraps(connect)
    def call(*args: P.args, **kwargs: P.kwargs) -> CaseClient:
        portal = Portal()
        try:
            inner = portal.run(connect(*args, **kwargs))
        except BaseException:
            portal.close()
            raise
        return CaseClient(inner, portal)

    return call


class CaseHandle(_Facade):
    """One case; the methods of `caseloop.CaseHandle`, blocking."""

    _inner: AsyncCaseHandle

    @property
    def case_id(self) -> str:
        return self._inner.case_id

    def __repr__(self) -> str:
        return repr(self._inner)

    acting_as = _case(AsyncCaseHandle.acting_as)
    state = _blocking(AsyncCaseHandle.state)
    timeline = _blocking(AsyncCaseHandle.timeline)
    accept = _blocking(AsyncCaseHandle.accept)
    reject = _blocking(AsyncCaseHandle.reject)
    sign = _blocking(AsyncCaseHandle.sign)
    request_return = _blocking(AsyncCaseHandle.request_return)
    reroute = _blocking(AsyncCaseHandle.reroute)
    rule_on_return = _blocking(AsyncCaseHandle.rule_on_return)
    commit = _blocking(AsyncCaseHandle.commit)
    cosign_commitment = _blocking(AsyncCaseHandle.cosign_commitment)
    decide_commitment = _blocking(AsyncCaseHandle.decide_commitment)
    report_progress = _blocking(AsyncCaseHandle.report_progress)
    request_extension = _blocking(AsyncCaseHandle.request_extension)
    decide_extension = _blocking(AsyncCaseHandle.decide_extension)
    suspend = _blocking(AsyncCaseHandle.suspend)
    resume = _blocking(AsyncCaseHandle.resume)
    submit_closing_report = _blocking(AsyncCaseHandle.submit_closing_report)
    cosign_closing_report = _blocking(AsyncCaseHandle.cosign_closing_report)
    review = _blocking(AsyncCaseHandle.review)
    rate_follow_up = _blocking(AsyncCaseHandle.rate_follow_up)
    write_off = _blocking(AsyncCaseHandle.write_off)
    reopen = _blocking(AsyncCaseHandle.reopen)
    terminate = _blocking(AsyncCaseHandle.terminate)
    issue_supervision_order = _blocking(AsyncCaseHandle.issue_supervision_order)
    receive_supervision_order = _blocking(AsyncCaseHandle.receive_supervision_order)
    answer_supervision_order = _blocking(AsyncCaseHandle.answer_supervision_order)
    lift_supervision_order = _blocking(AsyncCaseHandle.lift_supervision_order)
    comment = _blocking(AsyncCaseHandle.comment)
    revoke_card = _blocking(AsyncCaseHandle.revoke_card)
    request_joint_meeting = _blocking(AsyncCaseHandle.request_joint_meeting)
    record_meeting_outcome = _blocking(AsyncCaseHandle.record_meeting_outcome)
    verify_fact = _blocking(AsyncCaseHandle.verify_fact)
    send = _blocking(AsyncCaseHandle.send)


class HandoffHandle(_Facade):
    """One hand-off; the methods of `caseloop.HandoffHandle`, blocking."""

    _inner: AsyncHandoffHandle

    @property
    def handoff_id(self) -> str:
        return self._inner.handoff_id

    def __repr__(self) -> str:
        return repr(self._inner)

    acting_as = _handoff(AsyncHandoffHandle.acting_as)
    view = _blocking(AsyncHandoffHandle.view)
    claim = _blocking(AsyncHandoffHandle.claim)
    return_push = _blocking(AsyncHandoffHandle.return_push)
    reroute = _blocking(AsyncHandoffHandle.reroute)
    start_acting = _blocking(AsyncHandoffHandle.start_acting)
    send_feedback = _blocking(AsyncHandoffHandle.send_feedback)
    acknowledge = _blocking(AsyncHandoffHandle.acknowledge)
    terminate = _blocking(AsyncHandoffHandle.terminate)
    verify_fact = _blocking(AsyncHandoffHandle.verify_fact)
    send = _blocking(AsyncHandoffHandle.send)


class CaseClient(_Facade):
    """The SDK's entry point, blocking: `CaseClient.connect(...)` takes the arguments of `caseloop.CaseClient`.
    Close it with `close()` or use it in a `with` block."""

    _inner: AsyncCaseClient

    connect = staticmethod(_connecting(AsyncCaseClient.connect))

    @property
    def url(self) -> str:
        return self._inner.url

    @property
    def caller(self) -> Caller:
        return self._inner.caller

    @property
    def department(self) -> str:
        return self._inner.department

    @property
    def kind(self) -> CredentialKind:
        return self._inner.kind

    def close(self) -> None:
        """Closes the client and stops its event loop thread."""
        try:
            self._portal.run(self._inner.close())
        finally:
            self._portal.close()

    def __enter__(self) -> CaseClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    launch = _blocking_case(AsyncCaseClient.launch)
    case = _case(AsyncCaseClient.case)
    case_by_id = _case(AsyncCaseClient.case_by_id)
    list: Callable[..., builtins.list[CaseSummary]] = _blocking(AsyncCaseClient.list)
    count = _blocking(AsyncCaseClient.count)
    report_event = _blocking(AsyncCaseClient.report_event)
    report_events = _blocking(AsyncCaseClient.report_events)
    withdraw_source = _blocking(AsyncCaseClient.withdraw_source)
    handoff = _handoff(AsyncCaseClient.handoff)
    list_handoffs: Callable[..., builtins.list[HandoffSummary]] = _blocking(AsyncCaseClient.list_handoffs)
    count_handoffs = _blocking(AsyncCaseClient.count_handoffs)
    read_inbox = _blocking(AsyncCaseClient.read_inbox)
    acknowledge_inbox_item = _blocking(AsyncCaseClient.acknowledge_inbox_item)
    deadline = _blocking(AsyncCaseClient.deadline)
    take_in = _blocking(AsyncCaseClient.take_in)
    take_in_batch = _blocking(AsyncCaseClient.take_in_batch)
    open_joint = _blocking(AsyncCaseClient.open_joint)
    read_joint = _blocking(AsyncCaseClient.read_joint)
    complete_joint_step = _blocking(AsyncCaseClient.complete_joint_step)
    answer_joint_order = _blocking(AsyncCaseClient.answer_joint_order)
    deliver = _blocking(AsyncCaseClient.deliver)
    reject_delivery = _blocking(AsyncCaseClient.reject_delivery)
    answer_delivery_order = _blocking(AsyncCaseClient.answer_delivery_order)
    read_delivery_day = _blocking(AsyncCaseClient.read_delivery_day)
    verify = _blocking(AsyncCaseClient.verify)
