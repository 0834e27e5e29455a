"""The caseloop SDK: a thin client of the front door (the caseloop API) for department systems, over HTTP.

`CaseClient.connect(url=…, api_key=…)`; `caseloop.sync` is the same, blocking. It holds no Temporal credentials
and no payload key: those stay behind the door (`caseloop.direct` is the in-cluster transport for trusted tools).
"""

from caseloop.sdk.cases import CaseHandle
from caseloop.sdk.client import CaseClient
from caseloop.sdk.handoffs import HandoffHandle
from caseloop.sdk.summaries import CaseSummary, HandoffSummary

__all__ = ["CaseClient", "CaseHandle", "CaseSummary", "HandoffHandle", "HandoffSummary"]
