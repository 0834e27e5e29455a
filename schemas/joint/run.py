"""A "one thing" application as it runs: its steps' states, the commands that move them, and what is recorded."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.cards import IssuedCard
from schemas.delivery import IDEMPOTENCY_KEY_PATTERN
from schemas.joint.definition import JointMatter
from schemas.orders import LadderOrder, LadderRung
from schemas.verification import Code, QuestionKey, QuestionValue, VerificationOutcome

CommandId = Annotated[str, Field(min_length=1, max_length=100, pattern=IDEMPOTENCY_KEY_PATTERN)]

RULE_DEPARTMENT = "actor.step_department"
RULE_STEP = "joint.step"
RULE_NOT_READY = "joint.step_not_ready"
RULE_AUTOMATIC = "joint.step_automatic"


class JointStart(BaseModel):
    """One application: its id (the workflow's, never personal data), its matter, and the fields its automatic
    steps ask about (personal data: the payload codec seals them in history)."""

    # A verification step's call id is `<joint id>.<step code>`: 64 + 1 + 64 fits a call id's 200.
    joint_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    matter_code: Code
    application: dict[QuestionKey, QuestionValue] = Field(default_factory=dict, max_length=20)
    received_at: AwareDatetime | None = Field(None, description="set by the workflow: when the clock starts")


# The application field that holds the applicant's mobile, for the progress SMS (as intake requesters get them).
APPLICANT_MOBILE = "mobile"


class ApplicantNotice(BaseModel):
    """An SMS to the applicant of a "one thing": a step done, or the whole application. The mobile is personal data
    from the application (sealed in history by the payload codec as the application is); nothing stores it."""

    notification_id: str = Field(min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN)
    matter_code: str
    template_id: str = Field(
        description="applicant_opened, applicant_step_done or applicant_done, as the SMS provider names them"
    )
    variables: dict[str, str] = Field(default_factory=dict, description="joint id, step, status: never personal data")
    mobile: QuestionValue
    with_status_code: bool = Field(
        False,
        description="the SMS carries the application's status verification code, which the activity reads from the "
        "store (made there if the door has not yet): the code never enters history",
    )


class JointPlan(BaseModel):
    matter: JointMatter
    due_at: AwareDatetime = Field(description="the whole application's deadline")
    estimated: bool = False


class StepStatus(StrEnum):
    WAITING = "waiting"  # a step it comes after is not done
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # an automatic step without a usable answer


class JointStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class StepView(BaseModel):
    code: str
    department: str
    status: StepStatus = StepStatus.WAITING
    started_at: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    done_at: AwareDatetime | None = None
    late: bool = False
    done_by: str | None = Field(None, description="the department's command, or the verification's outcome")
    answer_digest: str | None = None
    ladder: list[LadderRung] = Field(
        default_factory=list, description="the ladder's rungs after the card, as the clock placed them at the start"
    )


class JointView(BaseModel):
    joint_id: str
    matter_code: str
    status: JointStatus = JointStatus.RUNNING
    started_at: AwareDatetime
    due_at: AwareDatetime
    done_at: AwareDatetime | None = None
    late: bool = False
    steps: list[StepView]
    cards: list[IssuedCard] = Field(default_factory=list)
    orders: list[LadderOrder] = Field(
        default_factory=list, description="the supervision orders late steps' ladders issued, and their answers"
    )
    version: int = 1

    def step(self, code: str) -> StepView | None:
        return next((step for step in self.steps if step.code == code), None)


class CompleteStep(BaseModel):
    """A department says its step is done; the door sets the department from the credential."""

    command_id: CommandId
    department: Code
    step: Code
    note: str | None = Field(None, max_length=2000)


class StepDone(BaseModel):
    """The door's body for CompleteStep."""

    note: str | None = Field(None, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


class VerificationStepResult(BaseModel):
    step: str
    outcome: VerificationOutcome
    answer_digest: str | None = None


class JointOpened(JointView):
    """What opening an application answers: its view, and the code its applicant is given for the status lookup."""

    verification_code: str = Field(
        description="give it to the applicant: with the joint_id it opens `POST /v1/joint/status`; the same on a retry"
    )


class JointStatusQuery(BaseModel):
    """An applicant's status lookup: the application's id and the verification code it was given."""

    model_config = ConfigDict(extra="forbid")

    joint_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    code: str = Field(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$")


class JointStatusAnswer(BaseModel):
    """What the public lookup answers, and nothing else: no departments, no application fields, no cards."""

    joint_id: str
    stage: str = Field(description="running, done or failed")
    deadline: AwareDatetime = Field(description="the whole application's deadline on the legal clock")
    last_progress: str | None = Field(None, description="the step done last, by its name; none before the first")


class JointSnapshot(BaseModel):
    view: JointView
    written_at: AwareDatetime
