"""The leaders' joint meeting (市領導會辦): a case reported to the city leaders, with the departments involved, its
own clock on the legal calendar and an outcome the coordinator records.

The coordinator may request one at any time while the case is open; the escalation ladder requests one after the
admonitory talk when the registry names the leaders' rung for the case's matter or locality. One meeting is open at
a time: a later request waits for the outcome of the one before.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.commands import Actor, RecordMeetingOutcome, RequestJointMeeting
    from schemas.case.stages import ClockStep, PartyKind, SupervisionLevel
    from schemas.case.state import CaseState, JointMeeting
    from schemas.delivery import PushKind
    from schemas.registry import Limit
    from workflows.case import presentation, rules
    from workflows.case.effects import SYSTEM, Recorder
    from workflows.case.rules import Rejected


def meeting_key(meeting: JointMeeting) -> str:
    return f"{ClockStep.JOINT_MEETING.value}:{meeting.meeting_id}"


def meeting_of(state: CaseState, meeting_id: str) -> JointMeeting:
    for meeting in state.meetings:
        if meeting.meeting_id == meeting_id:
            return meeting
    raise Rejected("meeting.unknown", "meeting_id", f"this case has no joint meeting {meeting_id}")


def open_meeting(state: CaseState) -> JointMeeting | None:
    return next((meeting for meeting in state.meetings if meeting.open), None)


def involved(state: CaseState) -> list[str]:
    """By default the parties that carry the case: the lead, the locality and the co-units, as assigned now."""
    order = {PartyKind.LEAD: 0, PartyKind.LOCALITY: 1, PartyKind.CO_UNIT: 2}
    active = sorted((a for a in state.assignments if a.active), key=lambda a: order.get(a.party, 3))
    return list(dict.fromkeys(a.department for a in active))


def request(
    rec: Recorder, *, basis: str, departments: list[str], limit: Limit, requested_by: Actor | None
) -> JointMeeting:
    state = rec.state
    meeting = JointMeeting(
        meeting_id=f"m{len(state.meetings) + 1}",
        departments=departments,
        requested_by=requested_by,
        basis=basis,
        limit=limit,
        requested_at=rec.now,
    )
    state.meetings.append(meeting)
    rec.raise_level(SupervisionLevel.LEADERS_MEETING)
    coordinator = state.registration.coordinator
    rec.start_clock(meeting_key(meeting), ClockStep.JOINT_MEETING, coordinator, limit, subject=meeting.meeting_id)
    rec.effects.meetings.append(meeting.meeting_id)
    actor = requested_by or SYSTEM
    rec.record(actor, "joint_meeting_requested", reason=basis, note=f"{meeting.meeting_id}: {', '.join(departments)}")
    for department in dict.fromkeys([coordinator, *departments]):
        rec.push(department, PushKind.JOINT_MEETING, {"meeting_id": meeting.meeting_id, "basis": basis})
    rec.effects.subject_id = meeting.meeting_id
    return meeting


def check_request(state: CaseState, command: RequestJointMeeting, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "request a leaders' joint meeting")
    rules.require_stage(state, "request a leaders' joint meeting", rules.LAUNCHED_AND_OPEN)
    rules.require_reason(command, "a leaders' joint meeting", "the problem the departments cannot solve is its basis")
    known = set(presentation.parties(state))
    for index, department in enumerate(command.departments):
        if department not in known:
            raise Rejected("meeting.department", f"departments.{index}", f"{department} has no part in this case")
    if len(set(command.departments)) != len(command.departments):
        raise Rejected("meeting.department", "departments", "each department is named once")
    if not command.departments and not involved(state):
        raise Rejected("meeting.department", "departments", "the case has no party yet: name the departments")
    if command.limit is not None:
        rules.check_limit(state, command.limit, "limit")
    held = open_meeting(state)
    if held is not None:
        raise Rejected("meeting.open", "reason", f"joint meeting {held.meeting_id} awaits its outcome: record it first")
    most = state.registration.policy.max_joint_meetings
    if len(state.meetings) >= most:
        raise Rejected("meeting.max", "reason", f"a case holds at most {most} joint meetings")


def apply_request(rec: Recorder, command: RequestJointMeeting) -> None:
    assert command.reason is not None
    request(
        rec,
        basis=command.reason.strip(),
        departments=list(command.departments) or involved(rec.state),
        limit=command.limit or rec.state.registration.policy.joint_meeting_limit,
        requested_by=command.actor,
    )


def check_outcome(state: CaseState, command: RecordMeetingOutcome, now: datetime) -> None:
    rules.require_coordinator(state, command.actor, "record a joint meeting's outcome")
    meeting = meeting_of(state, command.meeting_id)
    if not meeting.open:
        raise Rejected("meeting.decided", "meeting_id", f"joint meeting {meeting.meeting_id} has its outcome already")


def apply_outcome(rec: Recorder, command: RecordMeetingOutcome) -> None:
    meeting = meeting_of(rec.state, command.meeting_id)
    meeting.outcome = command.outcome
    meeting.decided_at = rec.now
    meeting.decided_by = command.actor.department
    rec.end_clock(meeting_key(meeting))
    rec.effects.meetings.append(meeting.meeting_id)
    rec.record(
        command.actor, "joint_meeting_decided", reason=command.reason, note=f"{meeting.meeting_id}: {command.outcome}"
    )
    for department in meeting.departments:
        rec.push(department, PushKind.JOINT_MEETING, {"meeting_id": meeting.meeting_id, "decided": True})
    rec.effects.subject_id = meeting.meeting_id
