"""What users touch: the caseloop SDK (`CaseClient`, its handles, its errors), a client of the front door over HTTP,
and the caseloop command line."""

from caseloop.errors import CommandError, CommandTimeout, Forbidden, InputRejected, NotFound, Unreachable
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
