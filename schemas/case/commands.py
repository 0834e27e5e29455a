"""The commands a case accepts (one workflow update each), who sends them, and what they answer.

Structural limits (lengths, code patterns, positive amounts) are checked here; the case's rules (stage, actor,
reasons, windows, caps) are checked by the update validators, which name the rule and the field they enforce.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from schemas.actors import Actor
from schemas.case.stages import CaseStage, CommitmentDecision, ReturnRuling, ReviewVerdict
from schemas.ledger import RatingLevel
from schemas.registry import Limit
from schemas.text import FREE_TEXT, IDENTIFIER, Code
from schemas.verification import MAX_QUESTION_FIELDS, QuestionKey, QuestionValue, VerificationOutcome

Text = Annotated[str, Field(min_length=1, max_length=4000), FREE_TEXT]
Reason = Annotated[str | None, Field(max_length=2000), FREE_TEXT]
LongText = Annotated[str | None, Field(max_length=4000), FREE_TEXT]


def not_a_boolean(value: object) -> object:
    """JSON's true is no amount: pydantic's lax mode would read it as 1."""
    if isinstance(value, bool):
        raise ValueError("a number is expected, not true or false")
    return value


class CaseCommand(BaseModel):
    """Every command carries its actor and may carry a reason; the rules say where a reason is required."""

    actor: Actor
    reason: Reason = None


class AcceptCase(CaseCommand):
    """The coordinator accepts a registered case; the case is then launched to every party at once."""


class RejectCase(CaseCommand):
    """The coordinator rejects a registered case (out of scope, duplicate); a reason is required."""


class SignAssignment(CaseCommand):
    """A party signs its assignment; the coordinator force-signs one (naming its department) once escalated."""

    department: Code | None = Field(None, description="the assignment's department; required for the coordinator")


class RequestReturn(CaseCommand):
    """A party hands its assignment back as not its duty, within the return window, with reason and legal basis."""

    legal_basis: Reason = None


class RerouteAssignment(CaseCommand):
    """The coordinator moves an unsigned assignment to another department; a reason is required."""

    department: Code = Field(description="the department holding the assignment now")
    to_department: Code


class RuleOnReturn(CaseCommand):
    """The coordinator rules on a return: uphold the assignment (improper return) or reroute it; reason required."""

    department: Code = Field(description="the department that asked to return its assignment")
    ruling: ReturnRuling
    to_department: Code | None = Field(None, description="required when rerouting")


class FileCommitment(CaseCommand):
    """The lead commits a completion limit and plan; the limit counts from the case's receipt, as statutes do."""

    limit: Limit
    plan: Text


class CosignCommitment(CaseCommand):
    """The locality co-signs the lead's commitment."""


class DecideCommitment(CaseCommand):
    """The coordinator accepts the co-signed commitment, or imposes a limit (with a reason) instead."""

    decision: CommitmentDecision
    limit: Limit | None = Field(None, description="required when imposing; counts from the case's receipt")
    plan: LongText = None


class ReportProgress(CaseCommand):
    """The lead reports progress; the next report falls due one reporting period later."""

    summary: Text
    percent_done: Annotated[int | None, BeforeValidator(not_a_boolean)] = Field(None, ge=0, le=100)


class RequestExtension(CaseCommand):
    """The lead asks, before the committed deadline passes, for more time in the deadline's unit; reason required."""

    amount: Annotated[float, BeforeValidator(not_a_boolean)] = Field(gt=0, allow_inf_nan=False)


class DecideExtension(CaseCommand):
    """The coordinator approves (all or part of the amount) or denies (with a reason) the pending extension."""

    approve: bool
    amount: Annotated[float | None, BeforeValidator(not_a_boolean)] = Field(
        None, gt=0, allow_inf_nan=False, description="granted amount; defaults to the requested one"
    )


class SuspendCase(CaseCommand):
    """The coordinator stops the clock while the case waits on something outside the parties; reason required."""


class ResumeCase(CaseCommand):
    """The coordinator restarts the clock; the deadline moves by the paused working time."""


class SubmitClosingReport(CaseCommand):
    """The lead files the closing report: the result, evidence references, whether the requester confirmed it."""

    result: Text
    evidence: list[Annotated[str, Field(min_length=1, max_length=500), FREE_TEXT]] = Field(
        default_factory=list, max_length=50
    )
    requester_confirmed: bool = False


class CosignClosingReport(CaseCommand):
    """The locality co-signs the closing report."""


class ReviewClosingReport(CaseCommand):
    """The coordinator passes the report, or sends the case back to redo it (reason required, new limit optional)."""

    verdict: ReviewVerdict
    redo_limit: Limit | None = Field(None, description="counts from now; defaults to the policy's redo limit")


class RateFollowUp(CaseCommand):
    """The follow-up rating on five levels; the two lowest send the case back to redo."""

    rating: RatingLevel
    comment: LongText = None
    channel: Annotated[str | None, Field(max_length=40), FREE_TEXT] = None


class WriteOff(CaseCommand):
    """The coordinator writes the case off (銷號) after a passed review and a satisfied follow-up."""


class ReopenCase(CaseCommand):
    """The same problem recurs within the reopen window; a reason is required and the deadline re-baselines."""

    limit: Limit | None = Field(None, description="counts from now; defaults to the committed limit")


class TerminateCase(CaseCommand):
    """The coordinator ends an open case (withdrawn, merged); a reason is required."""


class IssueSupervisionOrder(CaseCommand):
    """A supervisor issues a supervision order to a party of the case; its basis is the reason (required)."""

    department: Code
    content: Text
    limit: Limit | None = Field(None, description="counts from now; defaults to the policy's order limit")
    co_departments: list[Code] = Field(default_factory=list, max_length=20)


class ReceiveSupervisionOrder(CaseCommand):
    order_id: Code


class AnswerSupervisionOrder(CaseCommand):
    order_id: Code
    answer: Text


class LiftSupervisionOrder(CaseCommand):
    """A supervisor lifts an order; lifting one that was never answered needs a reason."""

    order_id: Code


class CommentOnCase(CaseCommand):
    text: Text


class RevokeCard(CaseCommand):
    """The coordinator revokes a card on appeal; the reason is required, and the card's score event is reversed."""

    card_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._~-]+$"), IDENTIFIER]


class RequestJointMeeting(CaseCommand):
    """The coordinator reports the case to the city leaders' joint meeting (市領導會辦); the reason is its basis."""

    departments: list[Code] = Field(
        default_factory=list,
        max_length=20,
        description="the departments involved; empty: the lead, the locality and the co-units",
    )
    limit: Limit | None = Field(None, description="for the outcome, counted from now; default: the policy's")


class RecordMeetingOutcome(CaseCommand):
    """The coordinator records what the joint meeting decided; its clock stops."""

    meeting_id: Code
    outcome: Text


class VerifyFact(CaseCommand):
    """A party checks a fact in another department's system ("check the business licence of X"): a verification
    call of a shared data item, which the registry must grant the actor's department. The outcome and the answer's
    digest are attached to the case; the question and the answer are personal data and never are."""

    item: Code = Field(description="the shared data item (registry `shared_items`)")
    question: dict[Annotated[QuestionKey, IDENTIFIER], Annotated[QuestionValue, FREE_TEXT]] = Field(
        min_length=1, max_length=MAX_QUESTION_FIELDS, description="the facts the answering system looks up"
    )


class AttachVerification(CaseCommand):
    """What a `VerifyFact` brings back, as the case applies it: no question and no answer, only who answered, how
    and the answer's digest. The workflow builds it; nobody sends it."""

    item: Code
    call_id: str = Field(max_length=200)
    answering_department: str = Field(max_length=64)
    system: str = Field(max_length=100)
    outcome: VerificationOutcome
    answer_digest: str | None = Field(None, max_length=128)
    detail: str | None = Field(None, max_length=500)


class CommandResult(BaseModel):
    """What a command did; a repeated command (same update id) answers the first result again."""

    case_id: str
    command: str
    update_id: str
    stage: CaseStage
    seq: int = Field(description="the case's transition counter after the command")
    applied_at: AwareDatetime
    subject_id: str | None = Field(None, description="what the command created, e.g. a supervision order id")


# Every case command by its verb, as the front door's routes (`POST /v1/cases/{case_id}/{verb}`), the SDK and the
# CLI name it: one table they share without importing the workflows.
CASE_COMMANDS: dict[str, type[CaseCommand]] = {
    "accept": AcceptCase,
    "reject": RejectCase,
    "sign": SignAssignment,
    "request-return": RequestReturn,
    "reroute": RerouteAssignment,
    "rule-on-return": RuleOnReturn,
    "commit": FileCommitment,
    "cosign-commitment": CosignCommitment,
    "decide-commitment": DecideCommitment,
    "report-progress": ReportProgress,
    "request-extension": RequestExtension,
    "decide-extension": DecideExtension,
    "suspend": SuspendCase,
    "resume": ResumeCase,
    "submit-closing-report": SubmitClosingReport,
    "cosign-closing-report": CosignClosingReport,
    "review": ReviewClosingReport,
    "rate-follow-up": RateFollowUp,
    "write-off": WriteOff,
    "reopen": ReopenCase,
    "terminate": TerminateCase,
    "issue-supervision-order": IssueSupervisionOrder,
    "receive-supervision-order": ReceiveSupervisionOrder,
    "answer-supervision-order": AnswerSupervisionOrder,
    "lift-supervision-order": LiftSupervisionOrder,
    "comment": CommentOnCase,
    "revoke-card": RevokeCard,
    "request-joint-meeting": RequestJointMeeting,
    "record-meeting-outcome": RecordMeetingOutcome,
    "verify-fact": VerifyFact,
}
