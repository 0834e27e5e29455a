"""A "one thing" matter as the registry defines it: department steps, their dependencies and limits, one deadline.

Dependencies are all-of: a step starts when every step it comes `after` is done. Steps with no `after` start at
once and run in parallel; a chain of `after` runs in sequence.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from schemas.limits import LimitText
from schemas.orders import ladder_order_limit
from schemas.verification import Code


class StepMode(StrEnum):
    # A department does it and says so through the front door.
    COMMAND = "command"
    # The engine does it with a verification call; an answer other than `expect` fails the step.
    VERIFICATION = "verification"
    # The engine pushes the step to the department's system (signed, through the gateway; its inbox when it has no
    # webhook); the system does it and says so through the front door's step-completion route.
    WEBHOOK = "webhook"


class JointStep(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    department: Code = Field(description="who does the step (for a verification: who asks)")
    mode: StepMode = StepMode.COMMAND
    item: Code | None = Field(None, description="the shared data item a verification step asks")
    question: list[str] = Field(
        default_factory=list, max_length=10, description="application fields the verification sends as its question"
    )
    after: list[Code] = Field(default_factory=list, max_length=20)
    limit: LimitText

    @model_validator(mode="after")
    def _item_for_verification(self) -> JointStep:
        if self.mode is StepMode.VERIFICATION and self.item is None:
            raise ValueError(f"step {self.code}: a verification step names its shared data item (item)")
        if self.mode is not StepMode.VERIFICATION and self.item is not None:
            raise ValueError(f"step {self.code}: only a verification step names an item")
        return self


class JointMatter(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    limit: LimitText = Field(description="the whole application's deadline on the legal clock")
    steps: list[JointStep] = Field(min_length=1, max_length=30)
    order_limit: LimitText = Field(
        default_factory=ladder_order_limit,
        description="how long a late step's department has to answer the supervision order its ladder issues",
    )
    active: bool = True

    @model_validator(mode="after")
    def _a_graph(self) -> JointMatter:
        codes = [step.code for step in self.steps]
        if len(set(codes)) != len(codes):
            raise ValueError("step codes must be unique")
        known = set(codes)
        for step in self.steps:
            for before in step.after:
                if before not in known:
                    raise ValueError(f"step {step.code} comes after {before!r}, which is not a step")
        placed: set[str] = set()
        remaining = list(self.steps)
        while remaining:
            ready = [step for step in remaining if set(step.after) <= placed]
            if not ready:
                raise ValueError("the steps' `after` form a cycle: " + ", ".join(s.code for s in remaining))
            placed |= {step.code for step in ready}
            remaining = [step for step in remaining if step.code not in placed]
        return self

    def step(self, code: str) -> JointStep | None:
        return next((step for step in self.steps if step.code == code), None)
