"""The caseloop SDK: a thin client of the front door (the caseloop API) for department systems, over HTTP.

`CaseClient.connect(url=…, api_key=…)`; `caseloop.sync` is the same, blocking. It holds no Temporal credentials
and no payload key: those stay behind the door (`caseloop.direct` is the in-cluster transport for trusted tools).

The names below are imported on first use: a command line verb that reads one case (`caseloop case show`) imports
the case handle and its view, not the hand-offs, the intake channels or the request models of every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy import on_first_use

if TYPE_CHECKING:
    from caseloop.sdk.cases import CaseHandle
    from caseloop.sdk.client import CaseClient
    from caseloop.sdk.handoffs import HandoffHandle
    from caseloop.sdk.summaries import CaseSummary, HandoffSummary

__all__ = ["CaseClient", "CaseHandle", "CaseSummary", "HandoffHandle", "HandoffSummary"]

# Each public name and the module that defines it.
_HOMES = {
    "CaseClient": "caseloop.sdk.client",
    "CaseHandle": "caseloop.sdk.cases",
    "CaseSummary": "caseloop.sdk.summaries",
    "HandoffHandle": "caseloop.sdk.handoffs",
    "HandoffSummary": "caseloop.sdk.summaries",
}


__getattr__, __dir__ = on_first_use(__name__, _HOMES, globals(), __all__)
