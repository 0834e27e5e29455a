"""What users touch: the caseloop SDK (`CaseClient`, its handles, its errors) and the caseloop command line."""

from caseloop.errors import CommandError, CommandTimeout, InputRejected, NotFound, Unreachable
from caseloop.direct import CaseClient, CaseHandle, CaseSummary, HandoffHandle, HandoffSummary

__all__ = [
    "CaseClient",
    "CaseHandle",
    "CaseSummary",
    "CommandError",
    "CommandTimeout",
    "HandoffHandle",
    "HandoffSummary",
    "InputRejected",
    "NotFound",
    "Unreachable",
]
