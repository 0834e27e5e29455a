"""`CaseHandle`: one case, one method per command of the case workflow, and its state and timeline.

Every command method takes either the command model (from `schemas.case.commands`) or its fields as keyword
arguments, plus an optional `command_id` (default: a new uuid4) and `within`, the seconds to wait for the
answer (default: the client's). The command id is the workflow update's ID: sending the same id again, e.g.
after a `CommandTimeout`, answers the first result and never applies the command twice.

Each method returns the `CommandResult` (the stage after the command, the transition counter, and what the
command created, e.g. a supervision order's id) or raises `InputRejected` with the rule and the field that
refused it, `NotFound`, `Unreachable` or `CommandTimeout`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle

from caseloop.direct.actors import CaseActor, case_actor
from caseloop.direct.channel import Channel, build, limit_of
from schemas.case import commands as c
from schemas.case.stages import CommitmentDecision, ReturnRuling, ReviewVerdict
from schemas.case.views import CaseQuery, CaseView, Timeline, TimelineQuery
from schemas.ledger import RatingLevel
from schemas.registry import Limit
from workflows.case.workflow import CaseWorkflow

LimitLike = Limit | str | int | Decimal

# Every command: its update on the case workflow and its model. The CLI offers one verb per entry.
COMMANDS: dict[str, tuple[Any, type[c.CaseCommand]]] = {
    "accept": (CaseWorkflow.accept, c.AcceptCase),
    "reject": (CaseWorkflow.reject, c.RejectCase),
    "sign": (CaseWorkflow.sign, c.SignAssignment),
    "request_return": (CaseWorkflow.request_return, c.RequestReturn),
    "reroute": (CaseWorkflow.reroute, c.RerouteAssignment),
    "rule_on_return": (CaseWorkflow.rule_on_return, c.RuleOnReturn),
    "commit": (CaseWorkflow.commit, c.FileCommitment),
    "cosign_commitment": (CaseWorkflow.cosign_commitment, c.CosignCommitment),
    "decide_commitment": (CaseWorkflow.decide_commitment, c.DecideCommitment),
    "report_progress": (CaseWorkflow.report_progress, c.ReportProgress),
    "request_extension": (CaseWorkflow.request_extension, c.RequestExtension),
    "decide_extension": (CaseWorkflow.decide_extension, c.DecideExtension),
    "suspend": (CaseWorkflow.suspend, c.SuspendCase),
    "resume": (CaseWorkflow.resume, c.ResumeCase),
    "submit_closing_report": (CaseWorkflow.submit_closing_report, c.SubmitClosingReport),
    "cosign_closing_report": (CaseWorkflow.cosign_closing_report, c.CosignClosingReport),
    "review": (CaseWorkflow.review, c.ReviewClosingReport),
    "rate_follow_up": (CaseWorkflow.rate_follow_up, c.RateFollowUp),
    "write_off": (CaseWorkflow.write_off, c.WriteOff),
    "reopen": (CaseWorkflow.reopen, c.ReopenCase),
    "terminate": (CaseWorkflow.terminate, c.TerminateCase),
    "issue_supervision_order": (CaseWorkflow.issue_supervision_order, c.IssueSupervisionOrder),
    "receive_supervision_order": (CaseWorkflow.receive_supervision_order, c.ReceiveSupervisionOrder),
    "answer_supervision_order": (CaseWorkflow.answer_supervision_order, c.AnswerSupervisionOrder),
    "lift_supervision_order": (CaseWorkflow.lift_supervision_order, c.LiftSupervisionOrder),
    "comment": (CaseWorkflow.comment, c.CommentOnCase),
}


class CaseHandle:
    """One case, addressed by its ID (`case-<system>-<case number>`). Creating a handle calls nothing: a case
    that does not exist raises `NotFound` at the first call.

    `actor`, when given, is who sends the commands that name no actor of their own, written as an `Actor` or
    `role:DEPARTMENT` (e.g. `lead:SQ-ZJJ`); `acting_as` returns a handle for another actor.
    """

    def __init__(self, channel: Channel, case_id: str, actor: CaseActor | None = None) -> None:
        self._channel = channel
        self._workflow: WorkflowHandle[CaseWorkflow, CaseView] = channel.temporal.get_workflow_handle_for(
            CaseWorkflow.run, case_id
        )
        self._actor = case_actor(actor) if actor is not None else None
        self.case_id = case_id

    def __repr__(self) -> str:
        return f"CaseHandle({self.case_id!r}, actor={self._actor.label if self._actor else None!r})"

    def acting_as(self, actor: CaseActor) -> CaseHandle:
        """The same case, with commands sent by `actor` unless they name another."""
        return CaseHandle(self._channel, self.case_id, actor)

    @property
    def workflow(self) -> WorkflowHandle[CaseWorkflow, CaseView]:
        """The underlying Temporal workflow handle, for what the SDK does not wrap."""
        return self._workflow

    # Reading.

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
        query = build(TimelineQuery, None, {"after_seq": after_seq, "limit": limit})
        return await self._channel.ask(self._subject, self._workflow.query(CaseWorkflow.timeline, query), within=within)

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

    async def send(
        self, command: c.CaseCommand, *, command_id: str | None = None, within: float | None = None
    ) -> c.CommandResult:
        """Sends any command model, e.g. one read from a file; the same as calling its own method."""
        for name, (_update, model) in COMMANDS.items():
            if type(command) is model:
                return await self._send(name, command, command_id, within)
        raise TypeError(f"{type(command).__name__} is not a case command")

    @property
    def _subject(self) -> str:
        return f"case {self.case_id}"

    async def _send(
        self, name: str, given: c.CaseCommand | None, command_id: str | None, within: float | None, **fields: Any
    ) -> c.CommandResult:
        update, model = COMMANDS[name]
        if given is None:
            fields["actor"] = case_actor(fields.get("actor") or self._actor)
        command = build(model, given, fields)
        return await self._channel.send(
            self._workflow, update, command, subject=self._subject, command_id=command_id, within=within
        )
