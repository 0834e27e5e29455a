"""The caseloop SDK: `CaseClient` and the handles it returns; `caseloop.sync` holds the blocking facade."""

from caseloop.sdk.cases import CaseHandle
from caseloop.sdk.client import CaseClient
from caseloop.sdk.handoffs import HandoffHandle
from caseloop.sdk.visibility import CaseSummary, HandoffSummary

__all__ = ["CaseClient", "CaseHandle", "CaseSummary", "HandoffHandle", "HandoffSummary"]
