"""Every table of the store, imported here so Base.metadata knows them all (Alembic and tests use it).

Each aggregate keeps its tables in its own module; add one import line per module.
"""

from __future__ import annotations

from activities.store.calendar import CalendarDayOverride, CalendarYearOverride, OfficeHoursRow  # noqa: F401
from activities.store.collaboration import (  # noqa: F401
    DeliveryDay,
    JointHandling,
    JointMatterRow,
    ScheduledDeliveryRow,
    SharedItemRow,
    VerificationCall,
)
from activities.store.credentials import ApiCredential  # noqa: F401
from activities.store.delivery import DeliveryAttempt, InboxEntry
from activities.store.handoff_events import HandoffEvent, HandoffReconciliation, HandoffStartRow  # noqa: F401
from activities.store.idempotency import IdempotencyKey  # noqa: F401
from activities.store.intake import IntakeChannel, IntakeRecord  # noqa: F401
from activities.store.leaders_rungs import LeadersRungRow  # noqa: F401
from activities.store.ledger import audit, cards, cases, handoffs, meetings, ratings, scores, supervision  # noqa: F401
from activities.store.lookup_limits import StatusLookupWindow  # noqa: F401
from activities.store.registry import (
    CollaborationMatter,
    Department,
    DepartmentFunction,
    MatterParty,
    MatterStepLimit,
    RosterEntry,
)
from activities.store.stamps import StoreStamp  # noqa: F401

__all__ = [
    "CollaborationMatter",
    "DeliveryAttempt",
    "Department",
    "DepartmentFunction",
    "InboxEntry",
    "MatterParty",
    "MatterStepLimit",
    "RosterEntry",
]
