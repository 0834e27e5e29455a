"""The direct-Temporal transport, for trusted tools inside the cluster: `CaseClient` over a Temporal connection.

Department systems use the front door (`caseloop.sdk`, over HTTP); this transport holds Temporal credentials and the
payload key, as only the door and the workers should."""

from caseloop.direct.cases import CaseHandle
from caseloop.direct.client import CaseClient
from caseloop.direct.handoffs import HandoffHandle
from caseloop.direct.visibility import CaseSummary, HandoffSummary

__all__ = ["CaseClient", "CaseHandle", "CaseSummary", "HandoffHandle", "HandoffSummary"]
