"""Named activity policies: every timeout and retry rule that workflows use, in one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityConfig

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
