"""`HandoffHandle`: one hand-off (one push to one receiving department) through the engine: its view, its
placement, and `send` for any hand-off command, under a command id used as the update's ID (a retry with the same
id is applied once). Each command answers the hand-off as it is after it (`HandoffView`).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from caseloop.direct.channel import Channel, updates_of
from caseloop.sdk.handoffs import COMMANDS as MODELS
from schemas import handoff as h
from schemas import search_attributes as sa
from workflows.handoff.entity import HandoffWorkflow

# Every command by the name the SDK and the door's routes give it: its update on the hand-off workflow (the method
# of that name) and its model.
COMMANDS: dict[str, tuple[Any, type[h.Command]]] = {
    name: (getattr(HandoffWorkflow, name), model) for name, model in MODELS.items()
}
UPDATES = updates_of(COMMANDS)


class HandoffHandle:
    """One hand-off, addressed by its ID (e.g. `handoff-SQ-SG-GGCSWS-SQ-SPJ-<reference>-a2s`, as `report_event`
    answers it)."""

    def __init__(self, channel: Channel, handoff_id: str) -> None:
        self._channel = channel
        self._workflow: WorkflowHandle[HandoffWorkflow, h.HandoffView] = channel.temporal.get_workflow_handle_for(
            HandoffWorkflow.run, handoff_id
        )
        self.handoff_id = handoff_id

    def __repr__(self) -> str:
        return f"HandoffHandle({self.handoff_id!r})"

    async def view(self, *, within: float | None = None) -> h.HandoffView:
        """The hand-off as its parties see it: stage, receiver, deadlines, routes, cards, orders, feedback."""
        return await self._channel.ask(self._subject, self._workflow.query(HandoffWorkflow.view), within=within)

    async def placement(self, *, within: float | None = None) -> tuple[str | None, str | None]:
        """The hand-off's matter and the locality its source case was handled in, from its search attributes."""

        async def describe() -> tuple[str | None, str | None]:
            attributes = (await self._workflow.describe()).typed_search_attributes
            return attributes.get(sa.MATTER), attributes.get(sa.LOCALITY)

        return await self._channel.ask(self._subject, describe(), within=within)

    async def send(
        self, command: h.Command, *, command_id: str | None = None, within: float | None = None
    ) -> h.HandoffView:
        """Sends a hand-off command model under `command_id` (default: a new uuid4), waiting at most `within`
        seconds (default: the client's)."""
        return await self._channel.send(
            self._workflow, UPDATES, command, subject=self._subject, command_id=command_id, within=within
        )

    @property
    def _subject(self) -> str:
        return f"hand-off {self.handoff_id}"
