"""Drives a case on the test server as a department system would: start it, send commands, read it back."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest, DescribeWorkflowExecutionResponse
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.store.delivery import InboxEntry
from activities.store.ledger.cards import Card
from activities.store.ledger.scores import ScoreEvent
from caseloop.direct.case_start import start_case
from caseloop.direct.channel import until_taken
from schemas.case import commands as c
from schemas.case.stages import Role
from schemas.case.state import CaseRegistration
from schemas.case.views import CaseQuery, CaseView, Timeline, TimelineQuery
from schemas.ledger import AuditEntry, AuditTrailQuery
from services.ledger import Ledger
from tests.case.parties import COORDINATOR, LEAD, LOCALITY, SUPERVISOR, SYSTEM_CODE, registration
from workflows.case.workflow import CaseWorkflow

coordinator = c.Actor(department=COORDINATOR, role=Role.COORDINATOR)
lead = c.Actor(department=LEAD, role=Role.LEAD)
locality = c.Actor(department=LOCALITY, role=Role.LOCALITY)
supervisor = c.Actor(department=SUPERVISOR, role=Role.SUPERVISOR)
requester = c.Actor(department=SYSTEM_CODE, role=Role.REQUESTER)

CaseHandle = WorkflowHandle[CaseWorkflow, CaseView]


class Driver:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.env = env
        self.task_queue = task_queue
        self.sessions = sessions
        self.started: list[CaseHandle] = []

    async def start(self, **changes: object) -> CaseHandle:
        handle = await start_case(self.env.client, self.registration(**changes), task_queue=self.task_queue)
        self.started.append(handle)
        return handle

    async def stop_all(self) -> None:
        """Ends what a failed test left running: an orphaned case's timers would hold up the shared server's
        time skipping for every later test."""
        for handle in self.started:
            try:
                await handle.terminate("the test is over")
            except RPCError:
                pass  # it had completed

    def registration(self, **changes: object) -> CaseRegistration:
        """The test registration under a case number of its own: the server outlives every test."""
        return registration(**{"case_number": f"{self.task_queue[3:15]}", **changes})

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def sleep_until(self, instant: datetime, after: timedelta = timedelta(minutes=1)) -> None:
        """Skips time to just after `instant`; the server skips only while the workers are idle."""
        left = instant + after - await self.now()
        if left > timedelta(0):
            await self.env.sleep(left)

    async def settle(self) -> None:
        """Lets the workers finish their background work (deliveries, a continue-as-new): the test server skips
        the minute only once they are idle, and nothing of a case falls due within a minute of a command.

        In steps of ten seconds: a push retrying against a department that stays down runs an attempt every few
        seconds of skipped time, and one skip of a whole minute on a loaded machine outlasted the test service's
        30-second deadline for a single sleep call ("Timeout expired"); the same minute passes either way."""
        for _ in range(6):
            await self.env.sleep(timedelta(seconds=10))

    @staticmethod
    async def view(handle: CaseHandle) -> CaseView:
        return await handle.query(CaseWorkflow.state, CaseQuery())

    @staticmethod
    async def timeline(handle: CaseHandle) -> Timeline:
        return await handle.query(CaseWorkflow.timeline, TimelineQuery(limit=1000))

    async def audit(self, subject_id: str) -> list[AuditEntry]:
        return (await Ledger(self.sessions).audit_trail(AuditTrailQuery(subject_id=subject_id))).entries

    async def cards(self, case_id: str) -> list[tuple[str, str, str, str | None]]:
        async with self.sessions() as session:
            rows = await session.scalars(select(Card).where(Card.subject_id == case_id).order_by(Card.card_id))
            return [(card.department_code, card.level, card.reason, card.step) for card in rows]

    async def scores(self, case_id: str) -> list[tuple[str, str]]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ScoreEvent)
                .where(ScoreEvent.subject_id == case_id)
                .order_by(ScoreEvent.occurred_at, ScoreEvent.event_id)
            )
            return [(event.department_code, event.kind) for event in rows]

    async def pushes(self, case_id: str) -> list[tuple[str, str]]:
        async with self.sessions() as session:
            rows = list(await session.scalars(select(InboxEntry).where(InboxEntry.subject_id == case_id)))
        # Pushes go out concurrently: their ids (case.p1, case.p2, …) give the order they were issued in.
        rows.sort(key=lambda entry: int(entry.push_id.rsplit(".p", 1)[1]))
        return [(entry.department_code, entry.kind) for entry in rows]


async def search_attributes(handle: CaseHandle) -> dict[str, object]:
    """The case's search attributes as stored, read raw: the test server keeps an unset attribute as an empty
    payload, which the client's decoder refuses. Single values come unwrapped; an unset one is None."""
    response = await describe(handle)
    values: dict[str, object] = {}
    for name, payload in response.workflow_execution_info.search_attributes.indexed_fields.items():
        value = json.loads(payload.data) if payload.data else None
        values[name] = value[0] if isinstance(value, list) and len(value) == 1 else value or None
    return values


async def describe(handle: CaseHandle) -> DescribeWorkflowExecutionResponse:
    """The raw description: the client's own would decode the search attributes (see search_attributes)."""
    client = handle._client  # the handle's own client: the one the case was started with
    return await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace=client.namespace, execution=WorkflowExecution(workflow_id=handle.id))
    )


async def send(handle: CaseHandle, update: Any, command: BaseModel, id: str | None = None) -> Any:
    """A command as the engine sends it: under the same id again while the case is continuing as new."""
    return await until_taken(handle._client, handle, update, command, id or str(uuid.uuid4()))
