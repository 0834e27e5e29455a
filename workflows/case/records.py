"""The case as the store records it: audit entries, the read model and supervision orders, built from the state."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.records import CaseChanges, PendingChanges
    from schemas.case.state import CaseState, JointMeeting, SupervisionOrder, TimelineEntry
    from schemas.delivery import Push
    from schemas.ledger import (
        AuditEntry,
        CaseSnapshot,
        JointMeetingSnapshot,
        SubjectKind,
        SupervisionOrderSnapshot,
        SupervisionOrderTransition,
    )
    from schemas.orders import supervision_order_id
    from workflows.case import rules
    from workflows.case.effects import Effects, OrderEntry

AUDIT_TEXT = 4000


def _reason(*parts: str | None) -> str | None:
    text = " — ".join(part for part in parts if part)
    return text[:AUDIT_TEXT] or None


def audit_entry(state: CaseState, entry: TimelineEntry) -> AuditEntry:
    return AuditEntry.by(
        entry.actor,
        entry.action,
        subject_id=state.case_id,
        subject_kind=SubjectKind.CASE,
        seq=entry.seq,
        reason=_reason(entry.reason, entry.note),
        from_stage=entry.from_stage.value if entry.from_stage else None,
        to_stage=entry.to_stage.value if entry.to_stage else None,
        at=entry.at,
    )


def order_id(state: CaseState, order_id: str) -> str:
    """An order's id in the store: unique across cases."""
    return supervision_order_id(state.case_id, order_id)


def order_entry(state: CaseState, entry: OrderEntry) -> AuditEntry:
    return AuditEntry.by(
        entry.actor,
        entry.action,
        subject_id=order_id(state, entry.order_id),
        subject_kind=SubjectKind.SUPERVISION_ORDER,
        seq=entry.seq,
        reason=_reason(entry.reason),
        at=entry.at,
    )


def pending(state: CaseState, effects: Effects, command: str | None) -> PendingChanges:
    """The transition's writes added to any an earlier transition could not make."""
    earlier = state.unrecorded
    return PendingChanges(
        commands=[*earlier.commands, *([command] if command else [])],
        escalations=[*earlier.escalations, *effects.escalations],
        entries=[*earlier.entries, *(audit_entry(state, entry) for entry in effects.entries)],
        order_entries=[*earlier.order_entries, *(order_entry(state, entry) for entry in effects.order_entries)],
        cards=[*earlier.cards, *effects.cards],
        scores=[*earlier.scores, *effects.scores],
        ratings=[*earlier.ratings, *effects.ratings],
        inboxed=[*earlier.inboxed, *effects.inboxed],
        revocations=[*earlier.revocations, *effects.revocations],
        meetings=list(dict.fromkeys([*earlier.meetings, *effects.meetings])),
    )


def case_snapshot(state: CaseState) -> CaseSnapshot:
    due = rules.next_due(state)
    deadline = state.clocks.get("deadline")
    channel = state.registration.channel
    return CaseSnapshot(
        case_id=state.case_id,
        matter_code=state.registration.matter_code,
        title=state.registration.title,
        stage=state.stage.value,
        priority=state.registration.priority.value,
        lead_department=rules.lead_department(state),
        locality=state.registration.locality_code,
        co_units=[a.department for a in state.assignments if a.active and a.party.value == "co_unit"],
        sla_colour=rules.sla_colour(state).value,
        supervision_level=state.supervision_level.value,
        opened_at=state.registered_at,
        committed_deadline=state.committed_due_at,
        deadline_estimated=deadline.estimated if deadline else False,
        next_due_at=due[0] if due else None,
        next_due_step=due[1].value if due else None,
        closed_at=state.closed_at,
        channel=channel.code if channel else None,
        channel_reference=channel.reference if channel else None,
    )


def order_snapshot(state: CaseState, order: SupervisionOrder) -> SupervisionOrderSnapshot:
    return SupervisionOrderSnapshot(
        order_id=order_id(state, order.order_id),
        case_id=state.case_id,
        department_code=order.department,
        co_departments=order.co_departments,
        level=order.level.value,
        basis=order.basis[:500],
        content=order.content,
        status=order.status,
        deadline=order.due_at or order.issued_at,
        issued_at=order.issued_at,
        received_at=order.received_at,
        answered_at=order.answered_at,
        lifted_at=order.lifted_at,
    )


def case_changes(state: CaseState, writes: PendingChanges, pushes: Sequence[Push] = ()) -> CaseChanges:
    orders = {order_id(state, order.order_id): order for order in state.orders}
    return CaseChanges(
        case=case_snapshot(state),
        commands=writes.commands,
        escalations=writes.escalations,
        entries=writes.entries,
        orders=[
            SupervisionOrderTransition(entry=entry, order=order_snapshot(state, orders[entry.subject_id]))
            for entry in writes.order_entries
        ],
        cards=writes.cards,
        scores=writes.scores,
        ratings=writes.ratings,
        inboxed=writes.inboxed,
        revocations=writes.revocations,
        meetings=[
            meeting_snapshot(state, meeting) for meeting in state.meetings if meeting.meeting_id in writes.meetings
        ],
        pushes=list(pushes),
    )


def meeting_id(state: CaseState, meeting_id: str) -> str:
    """A meeting's id in the store: unique across cases."""
    return f"{state.case_id}.{meeting_id}"


def meeting_snapshot(state: CaseState, meeting: JointMeeting) -> JointMeetingSnapshot:
    return JointMeetingSnapshot(
        meeting_id=meeting_id(state, meeting.meeting_id),
        case_id=state.case_id,
        departments=meeting.departments,
        requested_by=meeting.requested_by.department if meeting.requested_by else None,
        basis=meeting.basis[:2000],
        requested_at=meeting.requested_at,
        due_at=meeting.due_at,
        outcome=meeting.outcome,
        decided_at=meeting.decided_at,
        decided_by=meeting.decided_by,
    )
