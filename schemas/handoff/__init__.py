"""The hand-off's language (雙推送雙回路): trigger events, stages, commands, the state model and the reports.

Workflow IDs, search attributes and summaries are stored in clear: they carry codes and the department's own
reference only. The push package (entity names, addresses, people) travels in payloads, which the codec
encrypts when a key is configured.

The package by purpose: `bounds`, `ids`, `policy`, `events`, `state`, `commands`, `views`, `reconciliation`
and `records`; every public name is re-exported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names for type checkers; at run time __getattr__ below imports each on first use
    # The vocabulary both loops share, spoken by the hand-off's models.
    from schemas.actors import SYSTEM_ACTOR, Actor, Role
    from schemas.cards import CardColour, IssuedCard, SlaColour
    from schemas.handoff.bounds import (
        DATE_WINDOW,
        DETAILS_TOO_LARGE,
        FINDINGS_PER_FEEDBACK,
        PACKAGE_MAX_BYTES,
        PACKAGE_TOO_LARGE,
        Code,
        DateWindow,
        FeedbackDetails,
        HandoffPackage,
        Reference,
        Remark,
        Text,
    )
    from schemas.handoff.commands import (
        HANDOFF_COMMANDS,
        Acknowledge,
        Claim,
        Command,
        Reroute,
        ReturnPush,
        SendFeedback,
        StartActing,
        Terminate,
    )
    from schemas.handoff.events import (
        FINDING_EVENTS,
        Admission,
        AdmissionResult,
        BatchReport,
        EventBatch,
        EventOutcome,
        EventReport,
        FindingKind,
        LoopTwoStarted,
        SourceEvent,
        SourceWithdrawal,
        StartedHandoff,
        WithdrawalReport,
    )
    from schemas.handoff.ids import (
        DIRECTION_CODES,
        batch_workflow_id,
        clock_unit,
        event_key,
        handoff_id,
        id_part,
        intake_workflow_id,
        opposite,
        withdrawal_workflow_id,
    )
    from schemas.handoff.policy import (
        ADMISSION_CHUNK,
        ADMISSIONS_AT_ONCE,
        BATCH_WORKFLOW_BYTES,
        BATCH_WORKFLOW_EVENTS,
        DEFAULT_LIMITS,
        HandoffPolicy,
    )
    from schemas.handoff.reconciliation import (
        DepartmentCount,
        DepartmentLoops,
        OverdueLoop,
        ReconciliationReport,
        ReconciliationRequest,
        ReconciliationRun,
        ReconciliationSummary,
    )
    from schemas.handoff.records import WRITES_PER_CALL, HandoffWrites, HandoffWritesRecorded
    from schemas.handoff.state import (
        Feedback,
        Finding,
        HandoffClock,
        HandoffInput,
        HandoffOrder,
        HandoffStage,
        HandoffStart,
        HandoffState,
        Route,
        StoreWrite,
    )
    from schemas.handoff.views import Deadlines, HandoffThread, HandoffView, ThreadMember, ThreadQuery
    from schemas.rejections import Rejection

__all__ = [
    "ADMISSIONS_AT_ONCE",
    "ADMISSION_CHUNK",
    "BATCH_WORKFLOW_BYTES",
    "BATCH_WORKFLOW_EVENTS",
    "DATE_WINDOW",
    "DEFAULT_LIMITS",
    "DETAILS_TOO_LARGE",
    "DIRECTION_CODES",
    "FINDINGS_PER_FEEDBACK",
    "FINDING_EVENTS",
    "HANDOFF_COMMANDS",
    "PACKAGE_MAX_BYTES",
    "PACKAGE_TOO_LARGE",
    "SYSTEM_ACTOR",
    "WRITES_PER_CALL",
    "Acknowledge",
    "Actor",
    "Admission",
    "AdmissionResult",
    "BatchReport",
    "CardColour",
    "Claim",
    "Code",
    "Command",
    "DateWindow",
    "Deadlines",
    "DepartmentCount",
    "DepartmentLoops",
    "EventBatch",
    "EventOutcome",
    "EventReport",
    "Feedback",
    "FeedbackDetails",
    "Finding",
    "FindingKind",
    "HandoffClock",
    "HandoffInput",
    "HandoffOrder",
    "HandoffPackage",
    "HandoffPolicy",
    "HandoffStage",
    "HandoffStart",
    "HandoffState",
    "HandoffThread",
    "HandoffView",
    "HandoffWrites",
    "HandoffWritesRecorded",
    "IssuedCard",
    "LoopTwoStarted",
    "OverdueLoop",
    "ReconciliationReport",
    "ReconciliationRequest",
    "ReconciliationRun",
    "ReconciliationSummary",
    "Reference",
    "Rejection",
    "Remark",
    "Reroute",
    "ReturnPush",
    "Role",
    "Route",
    "SendFeedback",
    "SlaColour",
    "SourceEvent",
    "SourceWithdrawal",
    "StartActing",
    "StartedHandoff",
    "StoreWrite",
    "Terminate",
    "Text",
    "ThreadMember",
    "ThreadQuery",
    "WithdrawalReport",
    "batch_workflow_id",
    "clock_unit",
    "event_key",
    "handoff_id",
    "id_part",
    "intake_workflow_id",
    "opposite",
    "withdrawal_workflow_id",
]

# Where each name lives: a name is imported from its module on first use, so a process that needs one model (the
# settings' HandoffPolicy, a CLI verb) does not build the whole package's models.
_WHERE = {
    "SYSTEM_ACTOR": "schemas.actors",
    "Actor": "schemas.actors",
    "Role": "schemas.actors",
    "CardColour": "schemas.cards",
    "IssuedCard": "schemas.cards",
    "SlaColour": "schemas.cards",
    "DATE_WINDOW": "schemas.handoff.bounds",
    "DETAILS_TOO_LARGE": "schemas.handoff.bounds",
    "FINDINGS_PER_FEEDBACK": "schemas.handoff.bounds",
    "PACKAGE_MAX_BYTES": "schemas.handoff.bounds",
    "PACKAGE_TOO_LARGE": "schemas.handoff.bounds",
    "Code": "schemas.handoff.bounds",
    "DateWindow": "schemas.handoff.bounds",
    "FeedbackDetails": "schemas.handoff.bounds",
    "HandoffPackage": "schemas.handoff.bounds",
    "Reference": "schemas.handoff.bounds",
    "Remark": "schemas.handoff.bounds",
    "Text": "schemas.handoff.bounds",
    "HANDOFF_COMMANDS": "schemas.handoff.commands",
    "Acknowledge": "schemas.handoff.commands",
    "Claim": "schemas.handoff.commands",
    "Command": "schemas.handoff.commands",
    "Reroute": "schemas.handoff.commands",
    "ReturnPush": "schemas.handoff.commands",
    "SendFeedback": "schemas.handoff.commands",
    "StartActing": "schemas.handoff.commands",
    "Terminate": "schemas.handoff.commands",
    "FINDING_EVENTS": "schemas.handoff.events",
    "Admission": "schemas.handoff.events",
    "AdmissionResult": "schemas.handoff.events",
    "BatchReport": "schemas.handoff.events",
    "EventBatch": "schemas.handoff.events",
    "EventOutcome": "schemas.handoff.events",
    "EventReport": "schemas.handoff.events",
    "FindingKind": "schemas.handoff.events",
    "LoopTwoStarted": "schemas.handoff.events",
    "SourceEvent": "schemas.handoff.events",
    "SourceWithdrawal": "schemas.handoff.events",
    "StartedHandoff": "schemas.handoff.events",
    "WithdrawalReport": "schemas.handoff.events",
    "DIRECTION_CODES": "schemas.handoff.ids",
    "batch_workflow_id": "schemas.handoff.ids",
    "clock_unit": "schemas.handoff.ids",
    "event_key": "schemas.handoff.ids",
    "handoff_id": "schemas.handoff.ids",
    "id_part": "schemas.handoff.ids",
    "intake_workflow_id": "schemas.handoff.ids",
    "opposite": "schemas.handoff.ids",
    "withdrawal_workflow_id": "schemas.handoff.ids",
    "ADMISSION_CHUNK": "schemas.handoff.policy",
    "ADMISSIONS_AT_ONCE": "schemas.handoff.policy",
    "BATCH_WORKFLOW_BYTES": "schemas.handoff.policy",
    "BATCH_WORKFLOW_EVENTS": "schemas.handoff.policy",
    "DEFAULT_LIMITS": "schemas.handoff.policy",
    "HandoffPolicy": "schemas.handoff.policy",
    "DepartmentCount": "schemas.handoff.reconciliation",
    "DepartmentLoops": "schemas.handoff.reconciliation",
    "OverdueLoop": "schemas.handoff.reconciliation",
    "ReconciliationReport": "schemas.handoff.reconciliation",
    "ReconciliationRequest": "schemas.handoff.reconciliation",
    "ReconciliationRun": "schemas.handoff.reconciliation",
    "ReconciliationSummary": "schemas.handoff.reconciliation",
    "WRITES_PER_CALL": "schemas.handoff.records",
    "HandoffWrites": "schemas.handoff.records",
    "HandoffWritesRecorded": "schemas.handoff.records",
    "Feedback": "schemas.handoff.state",
    "Finding": "schemas.handoff.state",
    "HandoffClock": "schemas.handoff.state",
    "HandoffInput": "schemas.handoff.state",
    "HandoffOrder": "schemas.handoff.state",
    "HandoffStage": "schemas.handoff.state",
    "HandoffStart": "schemas.handoff.state",
    "HandoffState": "schemas.handoff.state",
    "Route": "schemas.handoff.state",
    "StoreWrite": "schemas.handoff.state",
    "Deadlines": "schemas.handoff.views",
    "HandoffThread": "schemas.handoff.views",
    "HandoffView": "schemas.handoff.views",
    "ThreadMember": "schemas.handoff.views",
    "ThreadQuery": "schemas.handoff.views",
    "Rejection": "schemas.rejections",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
