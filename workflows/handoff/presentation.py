"""How a hand-off shows itself, as pure functions of its start and state: the view its parties read, the search
attributes and current details of the Temporal UI, the package its receiver is pushed, and the feedback notice.

Nothing here touches Temporal: the workflow shell upserts what `search_attributes` wants and answers `view`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from schemas import search_attributes as sa
    from schemas.handoff import (
        DIRECTION_CODES,
        Deadlines,
        HandoffClock,
        HandoffStart,
        HandoffState,
        HandoffView,
    )


def running_dues(state: HandoffState) -> list[tuple[HandoffClock, datetime]]:
    """The deadlines of the clocks still running, in the clocks' order."""
    return [
        (name, clock.due_at) for name, clock in state.clocks.items() if clock.due_at is not None and not clock.stopped
    ]


def next_due(state: HandoffState) -> tuple[datetime | None, str | None]:
    """The earliest running deadline and its clock; none once the loop is closed or terminated."""
    if not state.stage.is_open:
        return None, None
    return min(((due_at, name.value) for name, due_at in running_dues(state)), default=(None, None))


def parties(start: HandoffStart, state: HandoffState) -> list[str]:
    """The reporting department, every receiver it was routed to (earlier ones too) and the coordinator when the
    registry named one at admission: codes only."""
    codes = [start.event.source_department, *(route.department_code for route in state.routes)]
    if state.receiver_code is not None:
        codes.append(state.receiver_code)
    if start.coordinator_code is not None:
        codes.append(start.coordinator_code)
    return list(dict.fromkeys(codes))


def search_attributes(
    start: HandoffStart, state: HandoffState, *, with_parties: bool, colours_apart: bool
) -> dict[SearchAttributeKey[Any], Any]:
    """What the Temporal UI should hold. Runs begun before the parties' attribute (`with_parties`) or before card
    and SLA colour were told apart (`colours_apart`: until then CaseloopCardColour held the SLA colour) publish
    what they published then."""
    due_at, _ = next_due(state)
    wanted: dict[SearchAttributeKey[Any], Any] = {
        sa.KIND: "handoff",
        sa.STAGE: state.stage.value,
        sa.CARD_COLOUR: state.colour.value,
        sa.MATTER: start.matter.code,
        sa.DIRECTION: start.direction.value,
        sa.LEAD_DEPARTMENT: state.receiver_code,
        sa.LOCALITY: start.event.locality_code,
        sa.NEXT_DUE_AT: due_at,
    }
    if with_parties:
        wanted[sa.PARTIES] = parties(start, state)
    if colours_apart:
        wanted[sa.CARD_COLOUR] = state.card_colour.value
        wanted[sa.SLA_COLOUR] = state.colour.value
    return wanted


def details(start: HandoffStart, state: HandoffState) -> str:
    """The current-details panel: codes, references and deadlines, nothing personal."""
    lines = [
        f"**{state.stage.value}** · card {state.card_colour.value} · SLA {state.colour.value} · "
        f"{start.matter.code} ({DIRECTION_CODES[start.direction]})",
        f"- from {start.event.source_department}, reference {start.event.reference}",
        f"- to {state.receiver_code or '(not routed)'}, push v{max(state.version, 1)}"
        + (" (claimed on push)" if state.claimed_on_push else ""),
        f"- end-to-end limit {start.end_to_end_due_at.isoformat()}",
    ]
    lines.extend(f"- {name.value} due {due_at.isoformat()}" for name, due_at in running_dues(state))
    if start.thread_id != start.handoff_id:
        lines.append(f"- loop 2 of {start.thread_id}")
    lines.extend(f"- loop 2: {identifier}" for identifier in state.loop_two)
    lines.extend(f"- {card.level.value} card to {card.department} ({card.reason.value})" for card in state.cards)
    lines.extend(f"- supervision order {order.order_id}: {order.status.value}" for order in state.supervision_orders)
    return "\n".join(lines)


def package(start: HandoffStart, version: int) -> dict[str, Any]:
    """What the receiver is pushed: the matter, the source event and its package, and the end-to-end limit."""
    event = start.event
    return {
        "handoff_id": start.handoff_id,
        "thread_id": start.thread_id,
        "version": version,
        "matter_code": start.matter.code,
        "matter_name": start.matter.name,
        "direction": start.direction.value,
        "claim_mode": start.matter.claim_mode.value,
        "source_department": event.source_department,
        "reference": event.reference,
        "event": event.event.value,
        "item_code": event.item_code,
        "decision": event.decision,
        "occurred_at": event.occurred_at.isoformat(),
        "end_to_end_due_at": start.end_to_end_due_at.isoformat(),
        "related_handoff_id": event.related_handoff_id,
        "package": event.package,
    }


def feedback_body(state: HandoffState) -> dict[str, Any]:
    """The feedback notice to the originating department."""
    feedback = state.feedback
    assert feedback is not None  # sent with the feedback
    return {
        "result": feedback.result,
        "findings": [finding.model_dump(mode="json") for finding in feedback.findings],
        "details": feedback.details,
        "loop_two": list(state.loop_two),
    }


def view(start: HandoffStart, state: HandoffState) -> HandoffView:
    """The hand-off as its parties see it, as every command and the view query answer it."""
    due_at, _ = next_due(state)

    def due(clock: HandoffClock) -> datetime | None:
        sla = state.clocks.get(clock)
        return sla.due_at if sla is not None else None

    return HandoffView(
        handoff_id=start.handoff_id,
        thread_id=start.thread_id,
        related_handoff_id=start.event.related_handoff_id,
        loop_two=list(state.loop_two),
        matter_code=start.matter.code,
        direction=start.direction,
        source_department=start.event.source_department,
        reference=start.event.reference,
        receiver_code=state.receiver_code,
        version=state.version,
        stage=state.stage,
        sla_colour=state.colour,
        card_colour=state.card_colour,
        claimed_on_push=state.claimed_on_push,
        auto_acknowledged=state.auto_acknowledged,
        deadlines=Deadlines(
            end_to_end=start.end_to_end_due_at,
            claim=due(HandoffClock.CLAIM),
            feedback=due(HandoffClock.FEEDBACK),
            acknowledge=due(HandoffClock.ACKNOWLEDGE),
            reroute=due(HandoffClock.REROUTE),
            push=due(HandoffClock.PUSH),
            act=due(HandoffClock.ACT),
            supervision_order=due(HandoffClock.SUPERVISION_ORDER),
            return_until=state.return_until,
        ),
        next_due_at=due_at,
        cards=list(state.cards),
        supervision_orders=list(state.supervision_orders),
        routes=list(state.routes),
        feedback=state.feedback,
        verifications=list(state.verifications),
    )
