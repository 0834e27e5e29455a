"""The errors every domain service raises for a request it cannot serve: retrying the same request cannot help.

Each names the error type that activities report to workflows (`error_type`), so a workflow's
`non_retryable_error_types` and its rejections keep one spelling whoever raised them.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request refused for good; the message says which record and which rule."""

    error_type = "Rejected"


class NotFound(ServiceError):
    """A code or id that the store does not hold."""

    error_type = "NotFound"


class InvalidInput(ServiceError):
    """Input that breaks a rule of its own fields; nothing was computed or stored."""

    error_type = "ValidationFailed"


class Refused(ServiceError):
    """Valid input that the stored state refuses: a retired matter, content contradicting what is recorded."""

    error_type = "Rejected"
