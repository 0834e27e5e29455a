"""Hand-off ids: workflow IDs of hand-offs, intakes, batches and withdrawals, safe for Temporal and free of
personal data, and the short direction codes they carry."""

from __future__ import annotations

import hashlib
import re

from schemas.clock import ClockUnit
from schemas.registry import HandoffDirection, LimitUnit, TriggerEvent

# Short direction codes used in workflow IDs and push keys.
DIRECTION_CODES: dict[HandoffDirection, str] = {
    HandoffDirection.APPROVAL_TO_SUPERVISION: "a2s",
    HandoffDirection.SUPERVISION_TO_APPROVAL: "s2a",
    HandoffDirection.APPROVAL_TO_APPROVAL: "a2a",
    HandoffDirection.REGISTRATION_TO_PERMIT: "r2p",
}


_NOT_ID_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


_LONGEST_ID = 150


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def id_part(text: str) -> str:
    """`text` as workflow-ID-safe ASCII; anything replaced or cut is pinned down by a short hash of the original."""
    cleaned = _NOT_ID_SAFE.sub("_", text).strip("_")
    if cleaned == text and len(text) <= 64:
        return text
    return f"{cleaned[:53]}~{_digest(text)}"


def _bounded(identifier: str) -> str:
    if len(identifier) <= _LONGEST_ID:
        return identifier
    return f"{identifier[: _LONGEST_ID - 11]}~{_digest(identifier)}"


def handoff_id(
    matter_code: str, source_department: str, reference: str, direction: HandoffDirection, slot: str | None = None
) -> str:
    """`handoff-<matter>-<source system>-<reference>-<direction>`; `slot` (the first receiver) only on a fan-out."""
    parts = [matter_code, source_department, reference, DIRECTION_CODES[direction]]
    if slot is not None:
        parts.append(slot)
    return _bounded("handoff-" + "-".join(id_part(part) for part in parts))


def opposite(direction: HandoffDirection) -> HandoffDirection:
    """The direction findings travel back in (loop 2)."""
    if direction is HandoffDirection.SUPERVISION_TO_APPROVAL:
        return HandoffDirection.APPROVAL_TO_SUPERVISION
    return HandoffDirection.SUPERVISION_TO_APPROVAL


def clock_unit(unit: LimitUnit) -> ClockUnit:
    """The registry spells units with underscores, the legal clock with hyphens."""
    return ClockUnit(unit.value.replace("_", "-"))


def event_key(source_department: str, event: TriggerEvent, reference: str) -> str:
    """What makes an event the same event: who reported it, what happened, and the department's reference."""
    return f"{source_department}:{event.value}:{reference}"


def intake_workflow_id(key: str) -> str:
    return _bounded(f"handoff-event-{id_part(key)}")


def batch_workflow_id(department: str, batch_id: str, part: int) -> str:
    """A batch id is the reporting department's own name for it ("nightly-2026-11-30"): two departments' batches
    of the same name never meet."""
    return _bounded(f"handoff-batch-{id_part(department)}-{id_part(batch_id)}-{part}")


def withdrawal_workflow_id(key: str) -> str:
    return _bounded(f"handoff-withdrawal-{id_part(key)}")
