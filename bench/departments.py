"""Simulated department systems: each holds its own key and drives cases through the SDK and the front door, as a
department's system would; and their bare counterparts, which drive the baseline workflow straight on Temporal."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from temporalio.client import Client, WorkflowHandle

from bench.bare import BareAnswer, BareCase, BareStart, BareStep
from bench.stack import (
    APPROVAL_BUREAU,
    BARE_QUEUE,
    COORDINATOR,
    HEALTH_COMMISSION,
    INITIATOR,
    LEAD,
    LOCALITY,
    Stack,
)
from caseloop import CaseClient, Unreachable
from schemas.ledger import RatingLevel

# The happy path after the launch, in order: 11 commands (DESIGN.md §2).
HAPPY_PATH = (
    "accept",
    "sign_lead",
    "sign_locality",
    "commit",
    "cosign_commitment",
    "decide_commitment",
    "submit_closing_report",
    "cosign_closing_report",
    "review",
    "rate_follow_up",
    "write_off",
)
UP_TO_IN_PROGRESS = HAPPY_PATH[:6]
# The clocks each step starts and stops on caseloop's side, (started, stopped): the signs' two, the commitment's,
# the deadline and its progress reports, the review, the rating's follow-up, the reopen window. The baseline starts
# and cancels as many timers at the same steps (issue 13: "the same count of updates, timers and starts").
CLOCKS = {
    "accept": (2, 0),
    "sign_lead": (0, 1),
    "sign_locality": (1, 1),
    "decide_commitment": (2, 1),
    "submit_closing_report": (1, 2),
    "review": (1, 1),
    "rate_follow_up": (0, 1),
    "write_off": (1, 0),
}


@dataclass
class Timings:
    """Seconds each command took, by command name."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    async def timed(self, name: str, call: Awaitable[object]) -> None:
        started = time.perf_counter()
        await call
        self.samples.setdefault(name, []).append(time.perf_counter() - started)

    def all(self) -> list[float]:
        return [value for values in self.samples.values() for value in values]

    def count(self) -> int:
        return sum(len(values) for values in self.samples.values())


def case_number(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Departments:
    """One SDK client per department of the scenarios, each with its own key.

    A command whose connection broke off is sent once more under the same command id, as a department system
    would (the door answers the first result); `resent` counts them, and the report says how many there were.
    """

    def __init__(self, clients: dict[str, CaseClient]) -> None:
        self.clients = clients
        self.resent = 0

    async def resending(self, send: Callable[[str], Awaitable[object]]) -> object:
        command_id = str(uuid.uuid4())
        try:
            return await send(command_id)
        except Unreachable:
            self.resent += 1
            return await send(command_id)

    @classmethod
    async def connect(cls, stack: Stack) -> Departments:
        clients = {}
        for department in (INITIATOR, COORDINATOR, LEAD, LOCALITY, APPROVAL_BUREAU, HEALTH_COMMISSION):
            clients[department] = await CaseClient.connect(stack.api_url, stack.keys[department], within=600)
        return cls(clients)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()

    async def launch(self, matter: str, number: str, timings: Timings, *, received_at: datetime | None = None) -> str:
        initiator = self.clients[INITIATOR]

        def launch(_: str) -> Awaitable[object]:  # idempotent by the case number: a resend finds the same case
            return initiator.launch(
                case_number=number,
                matter_code=matter,
                locality_code=LOCALITY,
                title="恒力功能性纖維項目尾水管線施工(基準)",
                received_at=received_at,
            )

        started = time.perf_counter()
        await self.resending(launch)
        timings.samples.setdefault("launch", []).append(time.perf_counter() - started)
        return initiator.case(number).case_id

    async def drive(self, case_id: str, steps: tuple[str, ...], timings: Timings, *, limit: str) -> None:
        """Sends `steps` of the happy path to the case, each from the department whose turn it is."""
        commands = self._commands(case_id, limit)
        for step in steps:
            await timings.timed(step, self.resending(commands[step]))

    def _commands(self, case_id: str, limit: str) -> dict[str, Callable[[str], Awaitable[object]]]:
        coordinator = self.clients[COORDINATOR].case_by_id(case_id, actor="coordinator")
        lead = self.clients[LEAD].case_by_id(case_id, actor="lead")
        locality = self.clients[LOCALITY].case_by_id(case_id).acting_as("locality")
        requester = self.clients[INITIATOR].case_by_id(case_id)
        plan = "re-route the pipeline along the canal road"
        return {
            "accept": lambda key: coordinator.accept(command_id=key),
            "sign_lead": lambda key: lead.sign(command_id=key),
            "sign_locality": lambda key: locality.sign(command_id=key),
            "commit": lambda key: lead.commit(limit=limit, plan=plan, command_id=key),
            "cosign_commitment": lambda key: locality.cosign_commitment(command_id=key),
            "decide_commitment": lambda key: coordinator.decide_commitment(decision="accept", command_id=key),
            "submit_closing_report": lambda key: lead.submit_closing_report(
                result="pipeline laid and connected", evidence=["photo-0417"], requester_confirmed=True, command_id=key
            ),
            "cosign_closing_report": lambda key: locality.cosign_closing_report(command_id=key),
            "review": lambda key: coordinator.review(verdict="pass", command_id=key),
            "rate_follow_up": lambda key: requester.rate_follow_up(
                actor="requester", rating=RatingLevel.SATISFIED, command_id=key
            ),
            "write_off": lambda key: coordinator.write_off(command_id=key),
        }


class BareDepartments:
    """The baseline's driver: the same count of starts, updates and timers, straight on Temporal."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def start(self, workflow_id: str, timings: Timings, spec: BareStart) -> WorkflowHandle[BareCase, BareAnswer]:
        started = time.perf_counter()
        handle = await self.client.start_workflow(BareCase.run, spec, id=workflow_id, task_queue=BARE_QUEUE)
        timings.samples.setdefault("launch", []).append(time.perf_counter() - started)
        return handle

    async def drive(
        self, handle: WorkflowHandle[BareCase, BareAnswer], steps: tuple[str, ...], timings: Timings
    ) -> None:
        for step in steps:
            arm, stop = CLOCKS.get(step, (0, 0))
            update = handle.execute_update(BareCase.step, BareStep(name=step, arm=arm, stop=stop))
            await timings.timed(step, update)
