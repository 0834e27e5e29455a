"""Named activity policies: every timeout and retry rule that workflows use, in one place."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityConfig, LocalActivityConfig

# Business errors raised by activities; retrying them can never succeed.
NON_RETRYABLE_ERRORS = ["ValidationFailed", "NotFound", "Rejected", "DeliveryRejected"]

# Reads and writes to the store: quick, idempotent, retried for a while then surfaced.
STORE = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=20,
        non_retryable_error_types=NON_RETRYABLE_ERRORS,
    ),
)

# Pure computation (legal clock): deterministic, a few retries are plenty.
COMPUTE = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=NON_RETRYABLE_ERRORS),
)

# The same, run as a local activity in the workflow's own worker: the case's legal clock and registry lookups, quick
# reads of cached calendar and registry data. A local activity is one marker in the history instead of three activity
# events and a workflow task, and no round trip through the server. Retries past the first few seconds wait on a
# workflow timer instead of holding the workflow task.
COMPUTE_LOCAL = LocalActivityConfig(
    start_to_close_timeout=COMPUTE["start_to_close_timeout"],
    retry_policy=COMPUTE["retry_policy"],
    local_retry_threshold=timedelta(seconds=5),
)
STORE_LOCAL = LocalActivityConfig(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=STORE["retry_policy"],
    local_retry_threshold=timedelta(seconds=5),
)

# Department systems: they go down for hours; keep trying with backoff, never give up silently.
DEPARTMENT_DELIVERY = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=30),
        non_retryable_error_types=NON_RETRYABLE_ERRORS,
    ),
)

# All the pushes and SMS of a case's transition, each tried once: what does not go out is sent on one activity each
# under DEPARTMENT_DELIVERY, so the batch itself is never retried (a retry would hold the delivered ones back).
BATCH_DELIVERY = ActivityConfig(
    start_to_close_timeout=timedelta(minutes=1),
    retry_policy=RetryPolicy(maximum_attempts=1),
)


def _attempts(config: ActivityConfig, attempts: int) -> ActivityConfig:
    retry = config["retry_policy"]
    assert retry is not None
    return {**config, "retry_policy": dataclasses.replace(retry, maximum_attempts=attempts)}


def delivery_until_alert(attempts: int) -> ActivityConfig:
    """A hand-off's push: a few attempts before the coordinator is shown DELIVERY_FAILED, then DEPARTMENT_DELIVERY."""
    return _attempts(DEPARTMENT_DELIVERY, attempts)


def courtesy_sms(attempts: int) -> ActivityConfig:
    """An SMS beside a push: worth a few tries, never worth holding the loop."""
    return _attempts(DEPARTMENT_DELIVERY, attempts)


# Admitting events starts hand-off workflows from the activity (a chunk may start hundreds): give it time.
ADMISSION = ActivityConfig(**{**STORE, "start_to_close_timeout": timedelta(minutes=2)})

# A hand-off's store write waits a few seconds for the store, then is kept in the state and retried by the
# workflow: a command's answer never waits out an outage. While earlier writes are owed the store is known to be
# down, so a new one tries once.
STORE_WRITE = _attempts(STORE, 5)
STORE_WRITE_ONCE = _attempts(STORE, 1)

# A report's recipients: retried with the departments' backoff for a few hours, then the files still wait in the
# reports directory and the run says who did not get them.
REPORT_SENDING = _attempts(DEPARTMENT_DELIVERY, 10)

# A verification call: a department is waiting on the answer, so a few quick attempts, then the caller hears
# `unavailable`. A refused or untrusted answer is a result, not an error, and is never retried.
VERIFICATION = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=40),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=20),
        maximum_attempts=4,
        non_retryable_error_types=NON_RETRYABLE_ERRORS,
    ),
)

# A delivery day's push (the delivery to its receiver, a card, a rejection, a circular): a few attempts, then the
# day goes on without it (each attempt is in the delivery log); the day's record in the store is what counts.
SCHEDULED_DELIVERY_PUSH = delivery_until_alert(5)
# The applicant of a "one thing" hears of its progress by SMS: a few tries, never holding the application.
JOINT_APPLICANT_SMS = courtesy_sms(5)
# A "one thing" webhook step to its department's system: as a scheduled delivery's push.
JOINT_STEP_PUSH = delivery_until_alert(5)

# Pulling a day's delivery from the deliverer's system: a few quick attempts before the due time; a pull that
# fails leaves the day waiting for a posted delivery, as if nothing had been pulled.
DELIVERY_PULL = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=4,
        non_retryable_error_types=NON_RETRYABLE_ERRORS,
    ),
)
