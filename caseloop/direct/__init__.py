"""The direct-Temporal transport, for trusted tools inside the cluster: the engine the front door runs on.

Department systems use the front door (`caseloop.sdk`, over HTTP); this transport holds Temporal credentials and the
payload key, as only the door and the workers should. It carries what the door has already built and authorised
(registrations, command models, events) to Temporal and reads cases and hand-offs back."""

from caseloop.direct.cases import CaseHandle
from caseloop.direct.client import CaseClient, Launched
from caseloop.direct.handoffs import HandoffHandle

__all__ = ["CaseClient", "CaseHandle", "HandoffHandle", "Launched"]
