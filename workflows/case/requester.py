"""What the requester of a channel case hears, and what its channel's system is pushed: launch, commitment, each
progress report, the rating request and closing (the channel also gets the case's own follow-up rating).

A pure function over a transition's effects, as the rule modules are: it adds an SMS (to the requester, whose
contact only the store holds) and a push (to the channel's system, signed by the gateway) per event. Nothing here
does I/O.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case import commands as c
    from schemas.case.stages import CaseStage
    from schemas.case.state import CaseState, TimelineEntry
    from schemas.delivery import Push, PushKind, SmsNotification
    from schemas.intake import RequesterEvent
    from workflows.case.effects import Effects

# Runs that began before a case could tell its requester replay as they ran (a case taken in by a newer door but
# run by an older worker carries a channel that worker ignored).
PATCH = "case-tells-its-requester"
PROGRESS_CHARS = 200  # of a progress summary, in an SMS and a push
R = RequesterEvent


def event_of(entry: TimelineEntry) -> RequesterEvent | None:
    if entry.action == "launched":
        return R.LAUNCHED
    if entry.action in ("commitment_accepted", "commitment_imposed"):
        return R.COMMITTED
    if entry.action == "progress_reported":
        return R.PROGRESS
    if entry.action == "review_passed":
        return R.RATING_REQUEST
    if entry.action == "rated":
        return R.RATED
    if entry.to_stage is CaseStage.CLOSED and entry.from_stage is not CaseStage.CLOSED:
        return R.CLOSED
    return None


def tell(state: CaseState, effects: Effects, command: c.CaseCommand | None) -> None:
    """Adds the requester's SMS and the channel's push for each event among the transition's entries."""
    channel = state.registration.channel
    if channel is None:
        return
    for entry in effects.entries:
        event = event_of(entry)
        if event is None:
            continue
        variables = _variables(state, event, entry, command)
        # Sent for every channel case: the activity records what the status lookup answers, and texts the requester
        # only when a mobile is on file.
        if event is not R.RATED:
            state.pushes += 1
            effects.sms.append(
                SmsNotification(
                    notification_id=f"{state.case_id}.s{state.pushes}",
                    department_code=state.registration.system,
                    matter_code=state.registration.matter_code,
                    template_id=f"requester_{event.value}",
                    variables=variables,
                    to_requester=True,
                )
            )
        if channel.pushes:
            state.pushes += 1
            effects.pushes.append(
                Push(
                    push_id=f"{state.case_id}.p{state.pushes}",
                    department_code=state.registration.system,
                    kind=PushKind.CHANNEL_UPDATE,
                    subject_id=state.case_id,
                    issued_at=entry.at,
                    body={"channel": channel.code, "reference": channel.reference, **variables},
                )
            )


def _variables(
    state: CaseState, event: RequesterEvent, entry: TimelineEntry, command: c.CaseCommand | None
) -> dict[str, str]:
    variables = {
        "case_id": state.case_id,
        "case_number": state.registration.case_number,
        "event": event.value,
        "stage": (entry.to_stage or state.stage).value,
        "at": entry.at.isoformat(),
    }
    if state.committed_due_at is not None:
        variables["committed_deadline"] = state.committed_due_at.isoformat()
    if event is R.PROGRESS and isinstance(command, c.ReportProgress):
        variables["progress"] = command.summary[:PROGRESS_CHARS]
    if event is R.RATED and isinstance(command, c.RateFollowUp):
        variables["rating"] = command.rating.value
    return variables
