"""`HandoffHandle`: one hand-off (one push to one receiving department) and its commands, closing the loop.

As for cases, every command takes the command model (from `schemas.handoff`) or its fields, an optional
`command_id` used as the update's ID (a retry with the same id is applied once), and an optional `within`
(the seconds to wait for the answer).
Each answers the hand-off as it is after the command (`HandoffView`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue
from temporalio.client import WorkflowHandle

from caseloop.direct.actors import HandoffActor, handoff_actor
from caseloop.direct.channel import Channel, build
from schemas import handoff as h
from schemas import search_attributes as sa
from workflows.handoff.entity import HandoffWorkflow

# Every command: its update on the hand-off workflow and its model. The CLI offers one verb per entry.
COMMANDS: dict[str, tuple[Any, type[h.Command]]] = {
    "claim": (HandoffWorkflow.claim, h.Claim),
    "return_push": (HandoffWorkflow.return_push, h.ReturnPush),
    "reroute": (HandoffWorkflow.reroute, h.Reroute),
    "start_acting": (HandoffWorkflow.start_acting, h.StartActing),
    "send_feedback": (HandoffWorkflow.send_feedback, h.SendFeedback),
    "acknowledge": (HandoffWorkflow.acknowledge, h.Acknowledge),
    "terminate": (HandoffWorkflow.terminate, h.Terminate),
}


class HandoffHandle:
    """One hand-off, addressed by its ID (e.g. `handoff-SQ-SG-GGCSWS-SQ-SPJ-<reference>-a2s`, as `report_event`
    answers it). `actor`, when given, sends the commands that name no actor, as a model or `role:DEPARTMENT`
    (receiver, originator, coordinator)."""

    def __init__(self, channel: Channel, handoff_id: str, actor: HandoffActor | None = None) -> None:
        self._channel = channel
        self._workflow: WorkflowHandle[HandoffWorkflow, h.HandoffView] = channel.temporal.get_workflow_handle_for(
            HandoffWorkflow.run, handoff_id
        )
        self._actor = handoff_actor(actor) if actor is not None else None
        self.handoff_id = handoff_id

    def __repr__(self) -> str:
        return f"HandoffHandle({self.handoff_id!r}, actor={str(self._actor) if self._actor else None!r})"

    def acting_as(self, actor: HandoffActor) -> HandoffHandle:
        """The same hand-off, with commands sent by `actor` unless they name another."""
        return HandoffHandle(self._channel, self.handoff_id, actor)

    @property
    def workflow(self) -> WorkflowHandle[HandoffWorkflow, h.HandoffView]:
        """The underlying Temporal workflow handle, for what the SDK does not wrap."""
        return self._workflow

    async def view(self, *, within: float | None = None) -> h.HandoffView:
        """The hand-off as its parties see it: stage, receiver, deadlines, routes, cards, orders, feedback."""
        return await self._channel.ask(self._subject, self._workflow.query(HandoffWorkflow.view), within=within)

    async def placement(self, *, within: float | None = None) -> tuple[str | None, str | None]:
        """The hand-off's matter and the locality its source case was handled in, from its search attributes."""

        async def describe() -> tuple[str | None, str | None]:
            attributes = (await self._workflow.describe()).typed_search_attributes
            return attributes.get(sa.MATTER), attributes.get(sa.LOCALITY)

        return await self._channel.ask(self._subject, describe(), within=within)

    async def claim(
        self,
        command: h.Claim | None = None,
        *,
        actor: HandoffActor | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """The receiving department claims the push (簽收)."""
        return await self._send("claim", command, command_id, within, actor=actor)

    async def return_push(
        self,
        command: h.ReturnPush | None = None,
        *,
        actor: HandoffActor | None = None,
        reason: str | None = None,
        legal_basis: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """The receiver hands the push back as not its duty (退回), with its reason and the legal basis."""
        return await self._send(
            "return_push", command, command_id, within, actor=actor, reason=reason, legal_basis=legal_basis
        )

    async def reroute(
        self,
        command: h.Reroute | None = None,
        *,
        actor: HandoffActor | None = None,
        department_code: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """The coordinator sends a returned push to `department_code`, or lets the function registry choose."""
        return await self._send(
            "reroute", command, command_id, within, actor=actor, department_code=department_code, reason=reason
        )

    async def start_acting(
        self,
        command: h.StartActing | None = None,
        *,
        actor: HandoffActor | None = None,
        measure: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """The receiver starts its measure: verify the pledge, inspect, list the entity."""
        return await self._send("start_acting", command, command_id, within, actor=actor, measure=measure)

    async def send_feedback(
        self,
        command: h.SendFeedback | None = None,
        *,
        actor: HandoffActor | None = None,
        result: str | None = None,
        findings: Sequence[h.Finding | Mapping[str, Any]] | None = None,
        details: Mapping[str, JsonValue] | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """The receiver sends its result back; each finding (penalty, revocation, false pledge) starts a loop-2
        hand-off back to the approval side, listed in the answer's `loop_two`."""
        return await self._send(
            "send_feedback",
            command,
            command_id,
            within,
            actor=actor,
            result=result,
            findings=list(findings) if findings is not None else None,
            details=dict(details) if details is not None else None,
        )

    async def acknowledge(
        self,
        command: h.Acknowledge | None = None,
        *,
        actor: HandoffActor | None = None,
        remark: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """The originating department acknowledges the feedback: the loop is closed."""
        return await self._send("acknowledge", command, command_id, within, actor=actor, remark=remark)

    async def terminate(
        self,
        command: h.Terminate | None = None,
        *,
        actor: HandoffActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """Stops the hand-off: the source case was withdrawn, the entity deregistered, or it is a duplicate."""
        return await self._send("terminate", command, command_id, within, actor=actor, reason=reason)

    async def send(
        self, command: h.Command, *, command_id: str | None = None, within: float | None = None
    ) -> h.HandoffView:
        """Sends any hand-off command model, e.g. one read from a file."""
        for name, (_update, model) in COMMANDS.items():
            if type(command) is model:
                return await self._send(name, command, command_id, within)
        raise TypeError(f"{type(command).__name__} is not a hand-off command")

    @property
    def _subject(self) -> str:
        return f"hand-off {self.handoff_id}"

    async def _send(
        self, name: str, given: h.Command | None, command_id: str | None, within: float | None, **fields: Any
    ) -> h.HandoffView:
        update, model = COMMANDS[name]
        if given is None:
            fields["actor"] = handoff_actor(fields.get("actor") or self._actor)
        command = build(model, given, fields)
        return await self._channel.send(
            self._workflow, update, command, subject=self._subject, command_id=command_id, within=within
        )
