"""How far a case may be pushed, without Temporal: every limit is bounded by the policy, orders, comments and
extension requests are capped, a repeated command id must carry the same command, and the state a case carries
into its next run stays far below Temporal's 2 MB however long its texts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas.case import commands as c
from schemas.case.stages import CommitmentDecision, ReviewVerdict
from schemas.case.state import AppliedCommand, CaseState, CaseWorkflowInput
from schemas.case.views import TimelineQuery
from schemas.clock import ClockUnit
from schemas.delivery import Push, PushKind
from schemas.registry import Limit
from tests.case.parties import LEAD, START, parties, registration, settle
from tests.case.test_machine import (
    at,
    closed,
    committing,
    coordinator,
    do,
    in_progress,
    lead,
    locality,
    requester,
    submitted,
    supervisor,
    wd,
)
from workflows.case import bounds, machine, presentation
from workflows.case.rules import Rejected
from workflows.case.workflow import same_command

TWO_MB = 2 * 1024 * 1024
# The longest texts the commands take, in a script that is three bytes a character in UTF-8.
LONGEST_TEXT = "中" * 4000
LONGEST_REASON = "因" * 2000


def without_statute(**changes: object) -> CaseState:
    """A case whose matter sets no statutory limit: only the policy bounds what the lead commits to."""
    reg = registration(**changes)
    state = CaseState(case_id=reg.case_id, registration=reg, registered_at=START)
    settle(state, machine.register(state, parties(statutory_limit=None)))
    do(state, c.AcceptCase(actor=coordinator))
    do(state, c.SignAssignment(actor=lead))
    do(state, c.SignAssignment(actor=locality))
    return state


def refused(state: CaseState, command: c.CaseCommand, hours: float = 5) -> tuple[str, str | None]:
    before = state.model_dump()
    with pytest.raises(Rejected) as rejected:
        machine.apply(state, command, at(hours))
    assert state.model_dump() == before
    return rejected.value.rule, rejected.value.field


def test_an_absurd_commitment_is_refused_by_rule_where_no_statute_limits_it() -> None:
    state = without_statute()
    absurd = Limit(amount=Decimal(99999), unit=ClockUnit.WORKING_DAYS)
    assert refused(state, c.FileCommitment(actor=lead, limit=absurd, plan="p")) == ("limit.max", "limit")
    hours = Limit(amount=Decimal(2001), unit=ClockUnit.OFFICE_HOURS)
    assert refused(state, c.FileCommitment(actor=lead, limit=hours, plan="p")) == ("limit.max", "limit")
    impose = c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.IMPOSE, limit=absurd, reason="late")
    assert refused(state, impose) == ("limit.max", "limit")
    # The longest limit the policy allows is still taken.
    do(state, c.FileCommitment(actor=lead, limit=wd(3650), plan="p"), 2)


def test_every_limit_a_command_names_is_bounded() -> None:
    absurd = Limit(amount=Decimal(3651), unit=ClockUnit.WORKING_DAYS)
    state = in_progress()
    order = c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x", reason="y", limit=absurd)
    assert refused(state, order) == ("limit.max", "limit")
    redo = c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.REDO, reason="again", redo_limit=absurd)
    assert refused(submitted(), redo, 30) == ("limit.max", "redo_limit")
    reopen = c.ReopenCase(actor=requester, reason="back", limit=absurd)
    assert refused(closed(), reopen, 60) == ("limit.max", "limit")


def test_an_extension_may_not_carry_the_deadline_past_the_longest_limit() -> None:
    state = without_statute(policy={"limit_max": {"working-days": 100}})
    do(state, c.FileCommitment(actor=lead, limit=wd(95), plan="p"), 2)
    do(state, c.CosignCommitment(actor=locality), 2)
    do(state, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT), 3)
    too_far = c.RequestExtension(actor=lead, amount=6, reason="the expert is late")
    assert refused(state, too_far) == ("limit.max", "amount")
    do(state, c.RequestExtension(actor=lead, amount=5, reason="the expert is late"), 5)


def test_a_policy_cannot_carry_a_limit_past_its_own_maximum_nor_the_clock_horizon() -> None:
    with pytest.raises(ValidationError, match="redo_limit"):
        registration(policy={"redo_limit": {"amount": 99999, "unit": "working-days"}})
    with pytest.raises(ValidationError, match=r"step_limits\.commit"):
        registration(policy={"step_limits": {"commit": {"amount": 2001, "unit": "office-hours"}}})
    with pytest.raises(ValidationError, match="limit_max"):
        registration(policy={"limit_max": {"working-days": 99999}})
    raised = registration(policy={"limit_max": {"working-days": 10000}, "redo_limit": wd(9000)})
    assert raised.policy.longest(ClockUnit.WORKING_DAYS) == 10000
    assert raised.policy.longest(ClockUnit.OFFICE_HOURS) == 2000  # a unit left out keeps its default


def test_comments_orders_and_extension_requests_are_capped_by_the_policy() -> None:
    state = in_progress()
    state.registration.policy.max_comments = 2
    state.registration.policy.max_supervision_orders = 2  # the launch issued none; the supervisor two
    for hour in (5, 6):
        do(state, c.CommentOnCase(actor=supervisor, text="still waiting"), hour)
        do(state, c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x", reason="y"), hour)
    assert refused(state, c.CommentOnCase(actor=lead, text="one more"), 7) == ("comment.max", "text")
    order = c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="x", reason="y")
    assert refused(state, order, 7) == ("order.max", "department")

    state = in_progress()
    state.registration.policy.max_extension_requests = 1
    do(state, c.RequestExtension(actor=lead, amount=2, reason="late"), 5)
    do(state, c.DecideExtension(actor=coordinator, approve=False, reason="no"), 6)
    assert refused(state, c.RequestExtension(actor=lead, amount=2, reason="late again"), 7) == (
        "extension.requests-max",
        "amount",
    )


def test_a_reused_command_id_must_carry_the_same_command_from_the_same_actor() -> None:
    state = committing()
    result = c.CommandResult(
        case_id=state.case_id, command="sign", update_id="cmd-1", stage=state.stage, seq=5, applied_at=at(1)
    )
    earlier = AppliedCommand(update_id="cmd-1", result=result, actor=lead)
    same_command(earlier, "sign", c.SignAssignment(actor=lead))  # the same command: answered, not refused
    with pytest.raises(Rejected) as other_command:
        same_command(earlier, "comment", c.CommentOnCase(actor=lead, text="x"))
    with pytest.raises(Rejected) as other_actor:
        same_command(earlier, "sign", c.SignAssignment(actor=locality))
    for rejected in (other_command.value, other_actor.value):
        assert (rejected.rule, rejected.field) == ("command_id.reused", "command_id")
    # Commands remembered before the actor was kept are compared by their type alone.
    same_command(AppliedCommand(update_id="cmd-1", result=result), "sign", c.SignAssignment(actor=locality))


def test_the_longest_comments_leave_a_state_far_below_the_continue_as_new_limit() -> None:
    state = in_progress()
    for number in range(150):  # about 116 of them used to carry the state past 2 MB
        do(state, c.CommentOnCase(actor=supervisor, text=LONGEST_TEXT, reason=LONGEST_REASON), 5 + number / 100)
    carried = CaseWorkflowInput(registration=state.registration, state=state).model_dump_json().encode()
    assert len(carried) < state.registration.policy.state_bytes < TWO_MB
    comment = state.timeline[-1]
    assert comment.action == "commented" and comment.text_length == 6000
    assert comment.note is not None and len(comment.note) == state.registration.policy.excerpt_chars
    assert comment.note.endswith("…")


def test_the_store_gets_the_whole_text_the_state_keeps_an_excerpt_of() -> None:
    state = in_progress()
    effects = do(state, c.CommentOnCase(actor=supervisor, text=LONGEST_TEXT), 5)
    assert effects.entries[0].note == LONGEST_TEXT
    assert state.timeline[-1].note != LONGEST_TEXT and state.timeline[-1].text_length == 4000


def test_fitting_the_state_drops_the_oldest_timeline_entries_first() -> None:
    state = in_progress()
    state.registration.policy.excerpt_chars = 2000
    state.registration.policy.timeline_kept = 1000
    for number in range(400):
        do(state, c.CommentOnCase(actor=supervisor, text=LONGEST_TEXT), 5 + number / 1000)
    assert bounds.size(state) > state.registration.policy.state_bytes
    newest = state.timeline[-1].seq
    size = bounds.fit(state)
    assert size == bounds.size(state) <= state.registration.policy.state_bytes
    assert state.timeline[-1].seq == newest and len(state.timeline) >= bounds.FLOOR


def test_a_timeline_answer_is_capped_in_bytes_and_says_there_is_more() -> None:
    state = in_progress()
    state.registration.policy.excerpt_chars = 2000
    for number in range(500):
        do(state, c.CommentOnCase(actor=supervisor, text=LONGEST_TEXT, reason=LONGEST_REASON), 5 + number / 1000)
    cap = state.registration.policy.timeline_answer_bytes
    answer = presentation.timeline(state, TimelineQuery(limit=1000))
    assert len(answer.model_dump_json().encode()) <= cap + 1000 and answer.more
    rest = presentation.timeline(state, TimelineQuery(after_seq=answer.entries[-1].seq, limit=1000))
    assert rest.entries[0].seq == answer.entries[-1].seq + 1


def test_a_push_no_attempt_delivered_goes_to_the_inbox_and_the_audit_trail() -> None:
    state = in_progress()
    push = Push(
        push_id=f"{state.case_id}.p9",
        department_code=LEAD,
        kind=PushKind.REMINDER,
        subject_id=state.case_id,
        issued_at=at(5),
    )
    effects = machine.delivery_handed_over(state, push, 6, "HTTP 503", at(6))
    assert effects.inboxed == [push] and effects.to_record
    [entry] = effects.entries
    assert entry.action == "delivery_handed_over" and entry.reason == "6 attempts failed: HTTP 503"
    assert entry.note is not None and push.push_id in entry.note and LEAD in entry.note
