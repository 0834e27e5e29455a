"""`CaseHandle`: one case through the engine: its state, its timeline, and `send` for any case command.

The front door builds each command (the actor from the credential) and sends it here under its command id, which
becomes the workflow update's ID: sending the same id again answers the first result and never applies the command
twice. Errors are `InputRejected` with the rule and the field that refused it, `NotFound`, `Unreachable` or
`CommandTimeout`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.client import WorkflowHandle

from caseloop.direct.channel import Channel, updates_of
from caseloop.sdk.cases import COMMANDS as MODELS
from caseloop.sdk.failures import invalid
from schemas.case import commands as c
from schemas.case.views import CaseQuery, CaseView, Timeline, TimelineQuery
from workflows.case.workflow import CaseWorkflow

# Every command by the name the SDK and the door's routes give it: its update on the case workflow (the method of
# that name) and its model.
COMMANDS: dict[str, tuple[Any, type[c.CaseCommand]]] = {
    name: (getattr(CaseWorkflow, name), model) for name, model in MODELS.items()
}
UPDATES = updates_of(COMMANDS)


class CaseHandle:
    """One case, addressed by its ID (`case-<system>-<case number>`). Creating a handle calls nothing: a case
    that does not exist raises `NotFound` at the first call."""

    def __init__(self, channel: Channel, case_id: str) -> None:
        self._channel = channel
        self._workflow: WorkflowHandle[CaseWorkflow, CaseView] = channel.temporal.get_workflow_handle_for(
            CaseWorkflow.run, case_id
        )
        self.case_id = case_id

    def __repr__(self) -> str:
        return f"CaseHandle({self.case_id!r})"

    async def state(self, *, within: float | None = None) -> CaseView:
        """The case as supervisors see it: stage, parties and assignments, clocks, orders, cards, deadlines."""
        return await self._channel.ask(
            self._subject, self._workflow.query(CaseWorkflow.state, CaseQuery()), within=within
        )

    async def timeline(self, *, after_seq: int = 0, limit: int = 100, within: float | None = None) -> Timeline:
        """The transitions after `after_seq`, oldest first, at most `limit` (1 to 1000): who, what, when, why.

        The workflow keeps the most recent entries; `oldest_kept_seq` says where they start (the store's audit
        trail keeps them all).
        """
        try:
            query = TimelineQuery(after_seq=after_seq, limit=limit)
        except ValidationError as error:
            raise invalid(error) from None
        return await self._channel.ask(self._subject, self._workflow.query(CaseWorkflow.timeline, query), within=within)

    async def send(
        self, command: c.CaseCommand, *, command_id: str | None = None, within: float | None = None
    ) -> c.CommandResult:
        """Sends a case command model under `command_id` (default: a new uuid4), waiting at most `within` seconds
        (default: the client's)."""
        return await self._channel.send(
            self._workflow, UPDATES, command, subject=self._subject, command_id=command_id, within=within
        )

    @property
    def _subject(self) -> str:
        return f"case {self.case_id}"
