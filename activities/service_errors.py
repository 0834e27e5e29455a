"""How activities report a domain service's refusal to the workflow: a non-retryable ApplicationError of its type.

Every activity adapter that calls a service (`services.*`) wraps the call in `as_application_errors`, so a refusal
reaches the workflow with the type its policies and rejections know, and is never retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from services.errors import ServiceError


@contextmanager
def as_application_errors() -> Iterator[None]:
    try:
        yield
    except ServiceError as error:
        raise ApplicationError(str(error), type=error.error_type, non_retryable=True) from None
