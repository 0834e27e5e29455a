"""What a case shows: its query answers, its search attributes and the Temporal UI's details. Codes only.

None of it carries personal data: search attributes and details are stored in clear, so the title, texts and
reasons stay in the (encryptable) payloads and the store.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from schemas import search_attributes as sa
    from schemas.case.stages import CaseStage
    from schemas.case.state import CaseRegistration, CaseState, TimelineEntry
    from schemas.case.views import CaseView, ClockView, Timeline, TimelineQuery
    from workflows.case import rules

KIND = "case"
# Cases started before CaseloopParties existed replay without it; from this marker on, a case upserts it.
PARTIES_PATCH = "case-parties-search-attribute"
# From this marker on, a case also publishes its SLA colour (CaseloopSlaColour), as hand-offs do.
SLA_COLOUR_PATCH = "case-sla-colour-search-attribute"


def view(state: CaseState) -> CaseView:
    due = rules.next_due(state)
    registration = state.registration
    return CaseView(
        case_id=state.case_id,
        system=registration.system,
        case_number=registration.case_number,
        matter_code=registration.matter_code,
        stage=state.stage,
        priority=registration.priority,
        coordinator=registration.coordinator,
        supervisors=registration.supervisors,
        parties=parties(state),
        lead_department=rules.lead_department(state),
        locality=registration.locality_code,
        supervision_level=state.supervision_level,
        card_colour=state.card_colour,
        sla_colour=rules.sla_colour(state),
        next_due_at=due[0] if due else None,
        next_due_step=due[1] if due else None,
        registered_at=state.registered_at,
        committed_due_at=state.committed_due_at,
        assignments=state.assignments,
        commitment=state.commitment,
        extensions=state.extensions,
        closing=state.closing,
        orders=state.orders,
        cards=state.cards,
        meetings=state.meetings,
        verifications=state.verifications,
        clocks=[
            ClockView(
                key=clock.key,
                step=clock.step,
                department=clock.department,
                due_at=clock.sla.due_at,
                colour=clock.colour,
                suspended=clock.sla.suspended,
                estimated=clock.estimated,
                rungs=clock.sla.rungs,
                explanation=clock.explanation,
            )
            for clock in state.clocks.values()
        ],
        redo_count=state.redo_count,
        reopen_count=state.reopen_count,
        report_overdue=state.report_overdue,
        closed_at=state.closed_at,
        reopen_closes_at=state.reopen_closes_at,
        seq=state.seq,
        runs=state.runs,
        undelivered=[push.push_id for push in state.outbox.pushes],
        channel=registration.channel,
    )


def timeline(state: CaseState, query: TimelineQuery) -> Timeline:
    """The kept entries after `after_seq`: at most `limit` of them, and no more bytes than the policy answers."""
    after = [entry for entry in state.timeline if entry.seq > query.after_seq]
    room = state.registration.policy.timeline_answer_bytes
    entries: list[TimelineEntry] = []
    for entry in after[: query.limit]:
        room -= len(entry.model_dump_json().encode()) + 1
        if room < 0 and entries:
            break
        entries.append(entry)
    return Timeline(
        entries=entries,
        total=state.seq,
        oldest_kept_seq=state.timeline[0].seq if state.timeline else None,
        more=len(entries) < len(after),
    )


def registered_parties(registration: CaseRegistration) -> list[str]:
    """The parties a registration names itself: what a case is found by from its start."""
    codes = [registration.system, registration.coordinator, *registration.supervisors]
    codes += [unit.department for unit in registration.co_units]
    return list(dict.fromkeys(codes))


def parties(state: CaseState) -> list[str]:
    """Every department with a part in the case, by code, in the order they joined; none ever leaves.

    The initiating system, the coordinator and supervisors; the lead, locality and co-units the registry named;
    every assignment's department, a rerouted one's too; the departments a supervision order went to.
    """
    codes = registered_parties(state.registration)
    if state.parties is not None:
        codes += [state.parties.lead.code, state.parties.locality.code]
        codes += [unit.code for unit in state.parties.co_units]
    codes += [assignment.department for assignment in state.assignments]
    for order in state.orders:
        codes += [order.department, *order.co_departments]
    return list(dict.fromkeys(codes))


def channel_values(registration: CaseRegistration) -> list[str]:
    """CaseloopChannel of a case taken in from a channel: its code, `<code>.<record number>` (the case number),
    and `unplaced` while its mapping failed (the registration says so for good: reroutes do not change it)."""
    channel = registration.channel
    if channel is None:
        return []
    values = [channel.code, f"{channel.code}.{channel.reference}"]
    return values if channel.placed else [*values, "unplaced"]


def search_attributes(
    state: CaseState, *, with_parties: bool = True, with_sla_colour: bool = True
) -> TypedSearchAttributes:
    """The attributes supervisors filter on; a key without a value (no lead yet, nothing due) is left out.

    `with_parties` and `with_sla_colour` are False only for a run that began before they were published (see
    PARTIES_PATCH and SLA_COLOUR_PATCH).
    """
    due = rules.next_due(state)
    lead = rules.lead_department(state)
    registration = state.registration
    keywords = [
        (sa.KIND, KIND),
        (sa.STAGE, state.stage.value),
        (sa.CARD_COLOUR, state.card_colour.value),
        (sa.LOCALITY, registration.locality_code),
        (sa.MATTER, registration.matter_code),
        (sa.PRIORITY, registration.priority.value),
        (sa.SUPERVISION_LEVEL, state.supervision_level.value),
    ]
    if lead is not None:
        keywords.append((sa.LEAD_DEPARTMENT, lead))
    if with_sla_colour:
        keywords.append((sa.SLA_COLOUR, rules.sla_colour(state).value))
    pairs: list[SearchAttributePair] = [SearchAttributePair(key, value) for key, value in keywords]
    if due is not None:
        pairs.append(SearchAttributePair(sa.NEXT_DUE_AT, due[0]))
    if with_parties:
        pairs.append(SearchAttributePair(sa.PARTIES, parties(state)))
    if registration.channel is not None:
        pairs.append(SearchAttributePair(sa.CHANNEL, channel_values(registration)))
    return TypedSearchAttributes(pairs)


def search_attribute_updates(
    state: CaseState, current: TypedSearchAttributes, *, with_parties: bool = True, with_sla_colour: bool = True
) -> list[SearchAttributeUpdate]:
    """Only what changed, so an unchanged transition adds no history event."""
    wanted = {
        pair.key.name: pair
        for pair in search_attributes(state, with_parties=with_parties, with_sla_colour=with_sla_colour)
    }
    have = {pair.key.name: pair for pair in current}
    updates: list[SearchAttributeUpdate] = []
    for name, pair in wanted.items():
        if name not in have or have[name].value != pair.value:
            updates.append(pair.key.value_set(pair.value))
    for key in (sa.LEAD_DEPARTMENT, sa.NEXT_DUE_AT):
        if key.name in have and key.name not in wanted:
            updates.append(key.value_unset())
    return updates


def details(state: CaseState) -> None:
    """The current-details panel of the Temporal UI, in markdown."""
    workflow.set_current_details(markdown(state))


def summary(registration: CaseRegistration) -> str:
    """The UI's one-line summary: codes only, never the title. A case is started with it; continue-as-new cannot carry
    it, so every run's details begin with it too."""
    return (
        f"case {registration.case_number} from {registration.system} · matter {registration.matter_code}"
        f" · locality {registration.locality_code} · {registration.priority.value}"
    )


def markdown(state: CaseState) -> str:
    registration = state.registration
    due = rules.next_due(state)
    lines = [
        f"**{summary(registration)}**",
        f"**Stage** {state.stage.value} · **card** {state.card_colour.value} · **SLA** {rules.sla_colour(state).value}"
        f" · **supervision** {state.supervision_level.value}",
        f"**Matter** {registration.matter_code} · **locality** {registration.locality_code}"
        f" · **lead** {rules.lead_department(state) or '—'} · **priority** {registration.priority.value}",
        f"**Next due** {due[0].isoformat()} ({due[1].value})" if due else "**Next due** —",
    ]
    if registration.channel is not None:
        channel = registration.channel
        # The reason quotes what the channel wrote, so it stays in the payload: details are stored in clear.
        placed = "" if channel.placed else " · **unplaced**: the coordinator places it by hand"
        lines.append(f"**Channel** {channel.code} · **record** {channel.reference}{placed}")
    if state.committed_due_at is not None and state.stage is not CaseStage.CLOSED:
        lines.append(f"**Committed deadline** {state.committed_due_at.isoformat()}")
    if state.assignments:
        lines += ["", "| party | department | status |", "|---|---|---|"]
        lines += [f"| {a.party.value} | {a.department} | {a.status.value} |" for a in state.assignments]
    if state.orders:
        lines += ["", "| order | to | status | due |", "|---|---|---|---|"]
        lines += [
            f"| {o.order_id} | {o.department} | {o.status.value} | {o.due_at.isoformat() if o.due_at else '—'} |"
            for o in state.orders
        ]
    running = [clock for clock in state.clocks.values() if rules.running(clock) and clock.explanation is not None]
    if running:
        lines += ["", "| deadline | department | due | why then |", "|---|---|---|---|"]
        for clock in running:
            assert clock.explanation is not None
            due_at = clock.sla.due_at.isoformat() if clock.sla.due_at else "—"
            lines.append(f"| {clock.key} | {clock.department} | {due_at} | {clock.explanation.summary()} |")
    if state.meetings:
        lines += ["", "| leaders' meeting | departments | due | outcome |", "|---|---|---|---|"]
        lines += [
            f"| {m.meeting_id} | {', '.join(m.departments)} | {m.due_at.isoformat() if m.due_at else '—'}"
            f" | {'recorded' if m.decided_at else 'awaited'} |"
            for m in state.meetings
        ]
    if state.cards:
        cards = ", ".join(
            f"{card.level.value} {card.department} ({card.reason.value}{'' if card.counts else ', revoked'})"
            for card in state.cards
        )
        lines += ["", f"**Cards** {cards}"]
    return "\n".join(lines)
