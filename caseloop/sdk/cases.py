"""`CaseHandle`: one case, one method per command of the case workflow, and its state and timeline, over the door.

Every command method takes either the command model (from `schemas.case.commands`) or its fields as keyword
arguments, plus an optional `command_id` (default: a new uuid4) and `within`, the seconds to wait for the
answer (default: the client's). The command id is the request's `Idempotency-Key` and the workflow update's ID:
sending the same id again, e.g. after a `CommandTimeout`, answers the first result and never applies the command
twice.

Who acts: `actor="lead"` names the role only, and the department is the credential's; `actor="lead:SQ-ZJJ"` names
the department too, and the door refuses it (`Forbidden`) when it is not the credential's. An operator acts for a
department with `acting_as("lead", on_behalf_of="SQ-ZJJ", reason="…")`; the audit trail records it as such.

Each method returns the `CommandResult` (the stage after the command, the transition counter, and what the
command created, e.g. a supervision order's id) or raises `InputRejected` with the rule and the field that
refused it, `Forbidden` when the department does not hold the role on this case, `NotFound`, `Unreachable` or
`CommandTimeout`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from caseloop.sdk.actors import CaseActor, OnBehalf, case_acting, command_body
from caseloop.sdk.building import build, command_id_of, limit_of
from caseloop.sdk.transport import Transport
from schemas.access import Caller
from schemas.case import commands as c
from schemas.case.stages import CommitmentDecision, ReturnRuling, ReviewVerdict
from schemas.case.views import CaseView, Timeline, TimelineQuery
from schemas.ledger import RatingLevel
from schemas.registry import Limit

LimitLike = Limit | str | int | Decimal

# Every command by its method's name (the verb with underscores); the CLI offers one verb per entry.
COMMANDS: dict[str, type[c.CaseCommand]] = {verb.replace("-", "_"): model for verb, model in c.CASE_COMMANDS.items()}


class CaseHandle:
    """One case, addressed by its ID (`case-<system>-<case number>`). Creating a handle calls nothing: a case
    that does not exist, or that the credential's department is no party to, raises `NotFound` at the first call.

    `actor`, when given, is who sends the commands that name no actor of their own: a role (`lead`), `role:DEPT`
    or an `Actor`; `acting_as` returns a handle for another actor (and, for operators, on whose behalf and why).
    """

    def __init__(
        self,
        transport: Transport,
        caller: Caller,
        case_id: str,
        actor: CaseActor | None = None,
        *,
        on_behalf: OnBehalf | None = None,
    ) -> None:
        self._transport = transport
        self._caller = caller
        self._actor = case_acting(actor) if actor is not None else None
        self._on_behalf = on_behalf
        self.case_id = case_id

    def __repr__(self) -> str:
        acting = self._actor.label if self._actor else None
        return f"CaseHandle({self.case_id!r}, actor={acting!r})"

    def acting_as(self, actor: CaseActor, *, on_behalf_of: str | None = None, reason: str | None = None) -> CaseHandle:
        """The same case, with commands sent by `actor` unless they name another. An operator credential acts for
        a department only with `on_behalf_of` (its code) and the `reason`, both recorded in the audit trail."""
        on_behalf = OnBehalf.of(on_behalf_of, reason)
        return CaseHandle(self._transport, self._caller, self.case_id, actor, on_behalf=on_behalf or self._on_behalf)

    # Reading.

    async def state(self, *, within: float | None = None) -> CaseView:
        """The case as supervisors see it: stage, parties and assignments, clocks, orders, cards, deadlines."""
        answer = await self._transport.get(self._path, subject=self._subject, within=within)
        return CaseView.model_validate(answer)

    async def timeline(self, *, after_seq: int = 0, limit: int = 100, within: float | None = None) -> Timeline:
        """The transitions after `after_seq`, oldest first, at most `limit` (1 to 1000): who, what, when, why.

        The workflow keeps the most recent entries; `oldest_kept_seq` says where they start (the store's audit
        trail keeps them all).
        """
        query = build(TimelineQuery, None, {"after_seq": after_seq, "limit": limit})
        answer = await self._transport.get(
            f"{self._path}/timeline", subject=self._subject, params=query.model_dump(), within=within
        )
        return Timeline.model_validate(answer)

    # The commands (DESIGN.md §2), in the order a case meets them.

    async def accept(
        self,
        command: c.AcceptCase | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator accepts the registered case; it is launched to the lead and the locality at once."""
        return await self._send("accept", command, command_id, within, actor=actor, reason=reason)

    async def reject(
        self,
        command: c.RejectCase | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator rejects the registered case (out of scope, duplicate); `reason` is required."""
        return await self._send("reject", command, command_id, within, actor=actor, reason=reason)

    async def sign(
        self,
        command: c.SignAssignment | None = None,
        *,
        actor: CaseActor | None = None,
        department: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """A party signs its assignment; the coordinator force-signs an escalated one, naming its `department`."""
        return await self._send("sign", command, command_id, within, actor=actor, department=department, reason=reason)

    async def request_return(
        self,
        command: c.RequestReturn | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        legal_basis: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """A party hands its assignment back as not its duty, within the return window, with reason and basis."""
        return await self._send(
            "request_return", command, command_id, within, actor=actor, reason=reason, legal_basis=legal_basis
        )

    async def reroute(
        self,
        command: c.RerouteAssignment | None = None,
        *,
        actor: CaseActor | None = None,
        department: str | None = None,
        to_department: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator moves an unsigned assignment from `department` to `to_department`, with a reason."""
        return await self._send(
            "reroute",
            command,
            command_id,
            within,
            actor=actor,
            department=department,
            to_department=to_department,
            reason=reason,
        )

    async def rule_on_return(
        self,
        command: c.RuleOnReturn | None = None,
        *,
        actor: CaseActor | None = None,
        department: str | None = None,
        ruling: ReturnRuling | str | None = None,
        to_department: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator upholds a return (the assignment stands) or reroutes it to `to_department`."""
        return await self._send(
            "rule_on_return",
            command,
            command_id,
            within,
            actor=actor,
            department=department,
            ruling=ruling,
            to_department=to_department,
            reason=reason,
        )

    async def commit(
        self,
        command: c.FileCommitment | None = None,
        *,
        actor: CaseActor | None = None,
        limit: LimitLike | None = None,
        plan: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The lead commits a completion limit, counted from the case's receipt (e.g. `15 working-days`), and a
        plan."""
        return await self._send(
            "commit", command, command_id, within, actor=actor, limit=limit_of(limit), plan=plan, reason=reason
        )

    async def cosign_commitment(
        self,
        command: c.CosignCommitment | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The locality co-signs the lead's commitment."""
        return await self._send("cosign_commitment", command, command_id, within, actor=actor, reason=reason)

    async def decide_commitment(
        self,
        command: c.DecideCommitment | None = None,
        *,
        actor: CaseActor | None = None,
        decision: CommitmentDecision | str | None = None,
        limit: LimitLike | None = None,
        plan: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator accepts the co-signed commitment, or imposes a `limit` (with a reason) instead."""
        return await self._send(
            "decide_commitment",
            command,
            command_id,
            within,
            actor=actor,
            decision=decision,
            limit=limit_of(limit),
            plan=plan,
            reason=reason,
        )

    async def report_progress(
        self,
        command: c.ReportProgress | None = None,
        *,
        actor: CaseActor | None = None,
        summary: str | None = None,
        percent_done: int | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The lead reports progress; the next report falls due one reporting period later."""
        return await self._send(
            "report_progress",
            command,
            command_id,
            within,
            actor=actor,
            summary=summary,
            percent_done=percent_done,
            reason=reason,
        )

    async def request_extension(
        self,
        command: c.RequestExtension | None = None,
        *,
        actor: CaseActor | None = None,
        amount: float | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The lead asks, before the committed deadline passes, for `amount` more in the deadline's unit."""
        return await self._send(
            "request_extension", command, command_id, within, actor=actor, amount=amount, reason=reason
        )

    async def decide_extension(
        self,
        command: c.DecideExtension | None = None,
        *,
        actor: CaseActor | None = None,
        approve: bool | None = None,
        amount: float | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator approves (all, or `amount` of it) or denies (with a reason) the pending extension."""
        return await self._send(
            "decide_extension",
            command,
            command_id,
            within,
            actor=actor,
            approve=approve,
            amount=amount,
            reason=reason,
        )

    async def suspend(
        self,
        command: c.SuspendCase | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator stops the clock while the case waits on something outside the parties."""
        return await self._send("suspend", command, command_id, within, actor=actor, reason=reason)

    async def resume(
        self,
        command: c.ResumeCase | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator restarts the clock; the deadline moves by the paused working time."""
        return await self._send("resume", command, command_id, within, actor=actor, reason=reason)

    async def submit_closing_report(
        self,
        command: c.SubmitClosingReport | None = None,
        *,
        actor: CaseActor | None = None,
        result: str | None = None,
        evidence: Sequence[str] | None = None,
        requester_confirmed: bool | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The lead files the closing report: the result, evidence references, whether the requester confirmed."""
        return await self._send(
            "submit_closing_report",
            command,
            command_id,
            within,
            actor=actor,
            result=result,
            evidence=list(evidence) if evidence is not None else None,
            requester_confirmed=requester_confirmed,
            reason=reason,
        )

    async def cosign_closing_report(
        self,
        command: c.CosignClosingReport | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The locality co-signs the closing report."""
        return await self._send("cosign_closing_report", command, command_id, within, actor=actor, reason=reason)

    async def review(
        self,
        command: c.ReviewClosingReport | None = None,
        *,
        actor: CaseActor | None = None,
        verdict: ReviewVerdict | str | None = None,
        redo_limit: LimitLike | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator passes the closing report, or sends the case back to redo it (reason required)."""
        return await self._send(
            "review",
            command,
            command_id,
            within,
            actor=actor,
            verdict=verdict,
            redo_limit=limit_of(redo_limit, "redo_limit"),
            reason=reason,
        )

    async def rate_follow_up(
        self,
        command: c.RateFollowUp | None = None,
        *,
        actor: CaseActor | None = None,
        rating: RatingLevel | str | None = None,
        comment: str | None = None,
        channel: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The follow-up rating on five levels; the two lowest send the case back to redo."""
        return await self._send(
            "rate_follow_up",
            command,
            command_id,
            within,
            actor=actor,
            rating=rating,
            comment=comment,
            channel=channel,
            reason=reason,
        )

    async def write_off(
        self,
        command: c.WriteOff | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator writes the case off (銷號) after a passed review and a satisfied follow-up."""
        return await self._send("write_off", command, command_id, within, actor=actor, reason=reason)

    async def reopen(
        self,
        command: c.ReopenCase | None = None,
        *,
        actor: CaseActor | None = None,
        limit: LimitLike | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The same problem recurs within the reopen window; `limit` counts from now (default: the committed)."""
        return await self._send(
            "reopen", command, command_id, within, actor=actor, limit=limit_of(limit), reason=reason
        )

    async def terminate(
        self,
        command: c.TerminateCase | None = None,
        *,
        actor: CaseActor | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator ends an open case (withdrawn, merged); `reason` is required."""
        return await self._send("terminate", command, command_id, within, actor=actor, reason=reason)

    async def issue_supervision_order(
        self,
        command: c.IssueSupervisionOrder | None = None,
        *,
        actor: CaseActor | None = None,
        department: str | None = None,
        content: str | None = None,
        limit: LimitLike | None = None,
        co_departments: Sequence[str] | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """A supervisor issues a supervision order to a party; `reason` is its basis. The result's `subject_id`
        is the order's id."""
        return await self._send(
            "issue_supervision_order",
            command,
            command_id,
            within,
            actor=actor,
            department=department,
            content=content,
            limit=limit_of(limit),
            co_departments=list(co_departments) if co_departments is not None else None,
            reason=reason,
        )

    async def receive_supervision_order(
        self,
        command: c.ReceiveSupervisionOrder | None = None,
        *,
        actor: CaseActor | None = None,
        order_id: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The ordered party confirms it received the supervision order."""
        return await self._send(
            "receive_supervision_order", command, command_id, within, actor=actor, order_id=order_id, reason=reason
        )

    async def answer_supervision_order(
        self,
        command: c.AnswerSupervisionOrder | None = None,
        *,
        actor: CaseActor | None = None,
        order_id: str | None = None,
        answer: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The ordered party answers the supervision order."""
        return await self._send(
            "answer_supervision_order",
            command,
            command_id,
            within,
            actor=actor,
            order_id=order_id,
            answer=answer,
            reason=reason,
        )

    async def lift_supervision_order(
        self,
        command: c.LiftSupervisionOrder | None = None,
        *,
        actor: CaseActor | None = None,
        order_id: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """A supervisor lifts the order; lifting one that was never answered needs a reason."""
        return await self._send(
            "lift_supervision_order", command, command_id, within, actor=actor, order_id=order_id, reason=reason
        )

    async def comment(
        self,
        command: c.CommentOnCase | None = None,
        *,
        actor: CaseActor | None = None,
        text: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """Anyone with a part in the case adds a comment to its timeline."""
        return await self._send("comment", command, command_id, within, actor=actor, text=text, reason=reason)

    async def revoke_card(
        self,
        command: c.RevokeCard | None = None,
        *,
        actor: CaseActor | None = None,
        card_id: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator revokes a card on appeal (`reason` required); the ledger marks it revoked, with the reason
        and who, and reverses its score event. The case's view shows the card as revoked."""
        return await self._send("revoke_card", command, command_id, within, actor=actor, card_id=card_id, reason=reason)

    async def request_joint_meeting(
        self,
        command: c.RequestJointMeeting | None = None,
        *,
        actor: CaseActor | None = None,
        departments: Sequence[str] | None = None,
        limit: LimitLike | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator reports the case to the city leaders' joint meeting (市領導會辦); `reason` is its basis,
        `departments` those involved (default: the lead, the locality and the co-units), `limit` when the outcome is
        due (default: the policy's). The result's `subject_id` is the meeting's id."""
        return await self._send(
            "request_joint_meeting",
            command,
            command_id,
            within,
            actor=actor,
            departments=list(departments) if departments is not None else None,
            limit=limit_of(limit),
            reason=reason,
        )

    async def record_meeting_outcome(
        self,
        command: c.RecordMeetingOutcome | None = None,
        *,
        actor: CaseActor | None = None,
        meeting_id: str | None = None,
        outcome: str | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """The coordinator records what the leaders' joint meeting decided; the meeting's clock stops."""
        return await self._send(
            "record_meeting_outcome",
            command,
            command_id,
            within,
            actor=actor,
            meeting_id=meeting_id,
            outcome=outcome,
            reason=reason,
        )

    async def verify_fact(
        self,
        command: c.VerifyFact | None = None,
        *,
        actor: CaseActor | None = None,
        item: str | None = None,
        question: dict[str, str] | None = None,
        reason: str | None = None,
        command_id: str | None = None,
        within: float | None = None,
    ) -> c.CommandResult:
        """Checks a fact in another department's system for the case ("check the business licence of X"): a
        verification call of shared data item `item` with `question` (e.g. `{"licence_number": "…"}`). The case's
        timeline and view get the outcome and the answer's digest, never the question or the answer. A department
        the registry does not grant the item is refused (`InputRejected`, rule `verification.grant`)."""
        return await self._send(
            "verify_fact", command, command_id, within, actor=actor, item=item, question=question, reason=reason
        )

    async def send(
        self, command: c.CaseCommand, *, command_id: str | None = None, within: float | None = None
    ) -> c.CommandResult:
        """Sends any command model, e.g. one read from a file; the same as calling its own method. Its actor's
        department is sent as written, so it must be the credential's (or the one an operator acts for)."""
        for name, model in COMMANDS.items():
            if type(command) is model:
                return await self._send(name, command, command_id, within)
        raise TypeError(f"{type(command).__name__} is not a case command")

    @property
    def _subject(self) -> str:
        return f"case {self.case_id}"

    @property
    def _path(self) -> str:
        return f"/v1/cases/{quote(self.case_id, safe='')}"

    async def _send(
        self, name: str, given: c.CaseCommand | None, command_id: str | None, within: float | None, **fields: Any
    ) -> c.CommandResult:
        command_id = command_id_of(command_id)
        body = command_body(
            COMMANDS[name],
            given,
            fields,
            acting_of=case_acting,
            default=self._actor,
            caller=self._caller,
            on_behalf=self._on_behalf,
        )
        answer = await self._transport.post(
            f"{self._path}/{name.replace('_', '-')}",
            body,
            subject=self._subject,
            command_id=command_id,
            within=within,
        )
        return c.CommandResult.model_validate(answer)
