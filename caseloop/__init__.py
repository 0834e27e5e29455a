"""What users touch: the caseloop SDK (`CaseClient`, its handles, its errors), a client of the front door over HTTP,
and the caseloop command line."""

from typing import TYPE_CHECKING

from caseloop.errors import CommandError, CommandTimeout, Forbidden, InputRejected, NotFound, Unreachable

if TYPE_CHECKING:
    from caseloop.sdk import CaseClient, CaseHandle, CaseSummary, HandoffHandle, HandoffSummary

__all__ = [
    "CaseClient",
    "CaseHandle",
    "CaseSummary",
    "CommandError",
    "CommandTimeout",
    "Forbidden",
    "HandoffHandle",
    "HandoffSummary",
    "InputRejected",
    "NotFound",
    "Unreachable",
]


def __getattr__(name: str) -> object:
    """The SDK's names, imported on first use: every CLI start imports this package, most commands need no SDK."""
    if name in {"CaseClient", "CaseHandle", "CaseSummary", "HandoffHandle", "HandoffSummary"}:
        from caseloop import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'caseloop' has no attribute {name!r}")
