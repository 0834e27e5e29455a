"""Refusals, one shape for cases, hand-offs and intake: the rule broken, the field it concerns, the reason in words,
and the error types clients dispatch on.

A refused command or input fails its update (or workflow) with an `ApplicationError` of type `Rejected` whose
first detail is a `Rejection`; `Rejection.error` builds it, so every workflow and activity words it alike.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from temporalio.exceptions import ApplicationError


class ErrorType(StrEnum):
    """The `ApplicationError` types caseloop raises; they are wire names, never changed."""

    REJECTED = "Rejected"  # a rule refused the command or input: nothing changed; details[0] is a Rejection
    NOT_FOUND = "NotFound"
    DELIVERY_FAILED = "DeliveryFailed"  # a department system did not answer: retried
    DELIVERY_REJECTED = "DeliveryRejected"  # a department system refused the push for good
    DELIVERY_MISCONFIGURED = "DeliveryMisconfigured"
    ENDPOINT_REFUSED = "EndpointRefused"
    # Not a rule: the workflow is about to continue as new and takes the command in its next run. Nothing changed;
    # the engine sends the same command id again (caseloop.direct's channel), so callers never see it.
    CONTINUING = "Continuing"


class Rejection(BaseModel):
    """Why a command or an event was refused: the rule's name, the field it concerns, and the reason in words."""

    rule: str = Field(description="a stable name, e.g. actor.claimant or event.unmatched")
    field: str | None = None
    message: str = Field("", description="the reason in words, without the rule and the field")

    @property
    def named(self) -> str:
        """The reason followed by the rule and the field, as logs and the Temporal UI show it."""
        parts = f"rule {self.rule}" + (f", field {self.field}" if self.field else "")
        return f"{self.message} ({parts})" if self.message else f"({parts})"

    def error(self) -> ApplicationError:
        """The non-retryable failure that carries this rejection to the client."""
        # Imported here: the SDK reads rejections without loading Temporal (`import caseloop` stays light).
        from temporalio.exceptions import ApplicationError

        return ApplicationError(
            self.named, self.model_dump(mode="json"), type=ErrorType.REJECTED.value, non_retryable=True
        )

    @classmethod
    def of(cls, error: ApplicationError) -> Rejection | None:
        """The rejection `error` carries, read back as `error` sent it, whoever sent it (a case, a hand-off, intake,
        the registry); None for a failure that is not a rejection. A domain service's refusal reaches a client
        without a rule of its own (`services.errors.Refused`): it reads as rule `rejected`, its message as it is."""
        if error.type != ErrorType.REJECTED.value:
            return None
        first = error.details[0] if error.details else None
        if isinstance(first, dict) and "rule" in first:
            return cls.model_validate(first)
        return cls(rule="rejected", message=error.message)


class Rejected(Exception):
    """A rule refused a command of a case or a hand-off; nothing was changed. The rule modules raise it, the
    workflow shells answer it as `rejection.error()`."""

    def __init__(self, rule: str, field: str | None, message: str) -> None:
        self.rejection = Rejection(rule=rule, field=field, message=message)
        super().__init__(self.rejection.named)
        self.rule = rule
        self.field = field


def continuing(subject: str) -> ApplicationError:
    """The temporary refusal of a case or a hand-off about to continue as new (`ErrorType.CONTINUING`): nothing
    changed, and the engine sends the command again, under its id, to the next run."""
    from temporalio.exceptions import ApplicationError

    message = f"{subject} is continuing as new: send the command again"
    return ApplicationError(message, type=ErrorType.CONTINUING.value, non_retryable=True)
