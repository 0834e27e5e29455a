"""Verification calls (核驗): a department checks a fact in another department's system during its own work.

The registry's shared data items say which department's system answers which question, at which endpoint, and who
may ask. A call carries the question (personal data: an ID number, a licence number) to the answering system and
brings back its signed answer; the store keeps who asked, why, and digests of question and answer, never either in
clear.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from schemas.actors import Actor
from schemas.delivery import IDEMPOTENCY_KEY_PATTERN

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
CallId = Annotated[str, Field(min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN)]
QuestionKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
QuestionValue = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]

# At most this many fields in a question: a verification asks about one fact of one subject.
MAX_QUESTION_FIELDS = 10


class PurposeKind(StrEnum):
    """What a verification serves: the law lets a department look only for the work in hand."""

    CASE = "case"
    HANDOFF = "handoff"
    JOINT = "joint"
    DELIVERY = "delivery"


class Purpose(BaseModel):
    kind: PurposeKind
    id: str = Field(min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN, description="the case, hand-off…")


class SharedItem(BaseModel):
    """One shared data item of the registry: the question, who answers it, and who may ask."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    department_code: Code = Field(description="the answering department")
    system: str = Field(min_length=1, max_length=100, description="the answering system, as metrics name it")
    endpoint_url: str = Field(min_length=1, max_length=500)
    secret_ref: str | None = Field(None, max_length=100, description="signs the request and the answer")
    timeout_seconds: float = Field(10.0, gt=0, le=30, description="how long one attempt waits for the answer")
    grantees: list[Code] = Field(default_factory=list, max_length=200, description="departments that may ask")
    active: bool = True

    def grants(self, department: str) -> bool:
        return self.active and department in self.grantees


class VerificationAsk(BaseModel):
    """What a department sends the front door; who asks comes from its credential, the call id from its
    Idempotency-Key."""

    item: Code
    purpose: Purpose
    question: dict[QuestionKey, QuestionValue] = Field(
        min_length=1, max_length=MAX_QUESTION_FIELDS, description="the facts the answering system looks up"
    )


class VerificationRequest(BaseModel):
    """One call, as the verify activity makes it."""

    call_id: CallId
    item_code: Code
    asking_department: Code
    purpose: Purpose
    question: dict[QuestionKey, QuestionValue] = Field(min_length=1, max_length=MAX_QUESTION_FIELDS)


class VerificationOutcome(StrEnum):
    ANSWERED = "answered"
    # The answering system refused the question (4xx): asking again cannot help.
    REFUSED = "refused"
    # The answer's signature did not check: nothing in it is used.
    UNTRUSTED = "untrusted"
    # No answer after the policy's attempts (timeouts, 5xx, unreachable).
    UNAVAILABLE = "unavailable"
    # The asking department holds no grant for the item (refused before any call).
    NOT_GRANTED = "not_granted"


class VerificationResult(BaseModel):
    call_id: str
    item_code: str
    asking_department: str
    purpose: Purpose
    answering_department: str
    system: str
    outcome: VerificationOutcome
    answer: dict[str, JsonValue] | None = Field(None, description="the answering system's JSON, when ANSWERED")
    answer_digest: str | None = Field(None, description="sha256 of the answer's bytes, as recorded")
    status_code: int | None = None
    attempts: int = Field(1, ge=1)
    detail: str | None = Field(None, max_length=500, description="why not answered, never the personal data")
    answered_at: AwareDatetime | None = None


class VerificationRecord(BaseModel):
    """One recorded attempt, as the store keeps it: digests only."""

    call_id: str
    attempt: int
    item_code: str
    asking_department: str
    answering_department: str
    system: str
    purpose: Purpose
    question_digest: str
    answer_digest: str | None
    outcome: str
    status_code: int | None
    called_at: AwareDatetime


class AttachedVerification(BaseModel):
    """A verification call a party made for a case or a hand-off, as attached: who asked which item, who answered,
    how, and the answer's keyed digest (as `verification_calls` records it). Never the question or the answer."""

    call_id: str
    item: str
    asked_by: Actor
    answering_department: str
    system: str
    outcome: str = Field(description="answered, refused, untrusted, unavailable (not_granted is refused, not kept)")
    answer_digest: str | None = None
    detail: str | None = None
    at: AwareDatetime
