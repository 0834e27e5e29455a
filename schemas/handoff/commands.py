"""The commands a hand-off accepts (one workflow update each); every command names its actor."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from schemas.actors import Actor
from schemas.handoff.bounds import FINDINGS_PER_FEEDBACK, Code, FeedbackDetails, Remark, Text
from schemas.handoff.state import Finding
from schemas.text import FREE_TEXT, IDENTIFIER
from schemas.verification import MAX_QUESTION_FIELDS, QuestionKey, QuestionValue


class Command(BaseModel):
    """Every command names who sends it. Its ID is the update's ID, as for cases: the same ID is applied once,
    however often it is sent, across continue-as-new too."""

    model_config = ConfigDict(extra="forbid")

    actor: Actor


class Claim(Command):
    pass


class ReturnPush(Command):
    """Not our duty (退回): the receiver hands the push back with its reason and the legal basis."""

    reason: Text
    legal_basis: Text


class Reroute(Command):
    """The coordinator sends the push to another department, named or found in the department-function registry."""

    department_code: Code | None = Field(None, description="None: the registry chooses")
    reason: Text


class StartActing(Command):
    measure: Text = Field(description="the supervisory measure started: verify the pledge, inspect, list the entity")


class SendFeedback(Command):
    result: Text
    findings: list[Finding] = Field(default_factory=list, max_length=FINDINGS_PER_FEEDBACK)
    details: FeedbackDetails = Field(default_factory=dict)


class Acknowledge(Command):
    remark: Remark = ""


class Terminate(Command):
    """Stops the hand-off: the source case was withdrawn, the entity deregistered, or it is a duplicate."""

    reason: Text


class VerifyFact(Command):
    """A party checks a fact in another department's system for the hand-off ("check the business licence of X"):
    a verification call of a shared data item, which the registry must grant the actor's department. The outcome
    and the answer's digest are attached to the hand-off; the question and the answer are personal data and never
    are."""

    item: Code = Field(description="the shared data item (registry `shared_items`)")
    question: dict[Annotated[QuestionKey, IDENTIFIER], Annotated[QuestionValue, FREE_TEXT]] = Field(
        min_length=1, max_length=MAX_QUESTION_FIELDS, description="the facts the answering system looks up"
    )
    reason: Remark = Field("", description="why the fact is checked, as the trail shows it")


# Every hand-off command by its verb, as the front door's routes (`POST /v1/handoffs/{id}/{verb}`), the SDK and the
# CLI name it: one table they share without importing the workflows.
HANDOFF_COMMANDS: dict[str, type[Command]] = {
    "claim": Claim,
    "return": ReturnPush,
    "reroute": Reroute,
    "start-acting": StartActing,
    "feedback": SendFeedback,
    "acknowledge": Acknowledge,
    "terminate": Terminate,
    "verify-fact": VerifyFact,
}
