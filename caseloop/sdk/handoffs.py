"""`HandoffHandle`: one hand-off (one push to one receiving department) and its commands, closing the loop.

As for cases, every command takes the command model (from `schemas.handoff`) or its fields, an optional
`command_id` (the request's Idempotency-Key and the update's ID: a retry with the same id is applied once), and an
optional `within` (the seconds to wait for the answer). The actor is a role (`receiver`, `originator`,
`coordinator`) in the credential's department, or `role:DEPT` naming it. Each answers the hand-off as it is after
the command (`HandoffView`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import JsonValue

from caseloop.sdk.actors import HandoffActor, OnBehalf, command_body, handoff_acting
from caseloop.sdk.building import command_id_of
from caseloop.sdk.transport import Transport
from schemas import handoff as h
from schemas.access import Caller

# Every command by its method's name, and the verb of its route (`POST /v1/handoffs/{id}/{verb}`).
VERBS: dict[str, str] = {
    "claim": "claim",
    "return_push": "return",
    "reroute": "reroute",
    "start_acting": "start-acting",
    "send_feedback": "feedback",
    "acknowledge": "acknowledge",
    "terminate": "terminate",
    "verify_fact": "verify-fact",
}
COMMANDS: dict[str, type[h.Command]] = {name: h.HANDOFF_COMMANDS[verb] for name, verb in VERBS.items()}


class HandoffHandle:
    """One hand-off, addressed by its ID (e.g. `handoff-SQ-SG-GGCSWS-SQ-SPJ-<reference>-a2s`, as `report_event`
    answers it). `actor`, when given, sends the commands that name no actor: a role, `role:DEPT` or an `Actor`."""

    def __init__(
        self,
        transport: Transport,
        caller: Caller,
        handoff_id: str,
        actor: HandoffActor | None = None,
        *,
        on_behalf: OnBehalf | None = None,
    ) -> None:
        self._transport = transport
        self._caller = caller
        self._actor = handoff_acting(actor) if actor is not None else None
        self._on_behalf = on_behalf
        self.handoff_id = handoff_id

    def __repr__(self) -> str:
        acting = self._actor.label if self._actor else None
        return f"HandoffHandle({self.handoff_id!r}, actor={acting!r})"

    def acting_as(
        self, actor: HandoffActor, *, on_behalf_of: str | None = None, reason: str | None = None
    ) -> HandoffHandle:
        """The same hand-off, with commands sent by `actor` unless they name another; an operator names the
        department it acts for and why."""
        on_behalf = OnBehalf.of(on_behalf_of, reason) or self._on_behalf
        return HandoffHandle(self._transport, self._caller, self.handoff_id, actor, on_behalf=on_behalf)

    async def view(self, *, within: float | None = None) -> h.HandoffView:
        """The hand-off as its parties see it: stage, receiver, deadlines, routes, cards, orders, feedback."""
        answer = await self._transport.get(self._path, subject=self._subject, within=within)
        return h.HandoffView.model_validate(answer)

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

    async def verify_fact(
        self,
        command: h.VerifyFact | None = None,
        *,
        actor: HandoffActor | None = None,
        item: str | None = None,
        question: Mapping[str, str] | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> h.HandoffView:
        """Checks a fact in another department's system ("check the business licence of X"): a shared data item the
        registry grants the credential's department. The outcome and the answer's digest are attached to the
        hand-off (`verifications` in the answer); the question and the answer never are."""
        return await self._send(
            "verify_fact",
            command,
            command_id,
            within,
            actor=actor,
            item=item,
            question=dict(question) if question is not None else None,
            reason=reason,
        )

    async def send(
        self, command: h.Command, *, command_id: str | None = None, within: float | None = None
    ) -> h.HandoffView:
        """Sends any hand-off command model, e.g. one read from a file."""
        for name, model in COMMANDS.items():
            if type(command) is model:
                return await self._send(name, command, command_id, within)
        raise TypeError(f"{type(command).__name__} is not a hand-off command")

    @property
    def _subject(self) -> str:
        return f"hand-off {self.handoff_id}"

    @property
    def _path(self) -> str:
        return f"/v1/handoffs/{quote(self.handoff_id, safe='')}"

    async def _send(
        self, name: str, given: h.Command | None, command_id: str | None, within: float | None, **fields: Any
    ) -> h.HandoffView:
        command_id = command_id_of(command_id)
        body = command_body(
            COMMANDS[name],
            given,
            fields,
            acting_of=handoff_acting,
            default=self._actor,
            caller=self._caller,
            on_behalf=self._on_behalf,
        )
        answer = await self._transport.post(
            f"{self._path}/{VERBS[name]}",
            body,
            subject=self._subject,
            command_id=command_id,
            within=within,
        )
        return h.HandoffView.model_validate(answer)
