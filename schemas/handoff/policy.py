"""The hand-off's tuning numbers in one model, `HandoffPolicy`: limits when a matter names none, delivery and SMS
attempts, commands remembered, the misrouting threshold, the store's retry pauses, when the reconciliation runs;
and the size of admission batches. Every number is DESIGN.md §3's default unless settings say otherwise."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from schemas.registry import Limit, LimitUnit, MatterStep

_WD = LimitUnit.WORKING_DAYS

# The limits DESIGN.md §3 gives when a matter names none; a matter's own limit always wins.
DEFAULT_LIMITS: dict[MatterStep, Limit] = {
    MatterStep.CLAIM: Limit(amount=Decimal(2), unit=_WD),
    MatterStep.RETURN: Limit(amount=Decimal(1), unit=_WD),
    MatterStep.REROUTE: Limit(amount=Decimal(1), unit=_WD),
    MatterStep.END_TO_END: Limit(amount=Decimal(3), unit=_WD),
    MatterStep.ACKNOWLEDGE: Limit(amount=Decimal(1), unit=_WD),
    MatterStep.PUSH_BACK: Limit(amount=Decimal(1), unit=_WD),
}

# Batches: events and bytes (as JSON) per batch workflow, so its input stays well under Temporal's 2 MB payload
# limit (an event alone may weigh a whole package), events per admission activity, and admission activities
# running at once per batch. They size the intake's workflows, not a hand-off, and never change a running one.
BATCH_WORKFLOW_EVENTS = 500
BATCH_WORKFLOW_BYTES = 1 << 20
ADMISSION_CHUNK = 50
ADMISSIONS_AT_ONCE = 4


class HandoffPolicy(BaseModel):
    """Every tuning number of a hand-off, DESIGN.md §3's defaults unless settings say otherwise. A hand-off keeps
    the policy it was admitted with (in its start), so a change of settings never moves a running one; a matter's
    own limits win over `default_limits`."""

    model_config = ConfigDict(frozen=True)

    default_limits: dict[MatterStep, Limit] = Field(default_factory=lambda: dict(DEFAULT_LIMITS))
    order_answer_limit: Limit = Field(
        Limit(amount=Decimal(1), unit=_WD),
        description="the time a supervision order gives the receiver to answer, from its issue",
    )
    delivery_attempts_before_alert: int = Field(
        6,
        ge=1,
        le=100,
        description="attempts to deliver the push before the coordinator sees delivery_failed; retrying goes on",
    )
    sms_attempts: int = Field(8, ge=1, le=100, description="an SMS is a courtesy beside the push: a few tries")
    remembered_commands: int = Field(
        500, ge=10, le=5000, description="command ids remembered against repeats, across runs"
    )
    remembered_answers: int = Field(
        50,
        ge=1,
        le=5000,
        description="of the remembered command ids, the latest whose first answer is kept (a whole view each, carried "
        "across runs); an older repeat answers the hand-off as it is",
    )
    misrouting_threshold: int = Field(
        2, ge=1, le=100, description="returns of one hand-off from which the registry is flagged as wrong for it"
    )
    store_retry: timedelta = Field(
        timedelta(minutes=1), gt=timedelta(0), description="the first pause before owed store writes are retried"
    )
    store_retry_longest: timedelta = Field(
        timedelta(minutes=15), gt=timedelta(0), description="the longest pause, as the pause doubles"
    )
    reconciliation_cron: str = Field(
        "0 9 1 * *",
        pattern=r"^\S+( \S+){4}$",
        max_length=100,
        description="when the reconciliation of open loops runs, a five-field cron on the legal calendar's wall "
        "clock (domain research §6.4: 09:00 on the 1st of every month); the schedule takes it on every start",
    )
    max_history_events: int | None = Field(
        None,
        ge=20,
        le=50_000,
        description="continue as new beyond this many history events even if the server does not ask (as "
        "CasePolicy.max_history_events); None waits for the server",
    )
