"""The case's two activities on a real store: every deadline of a transition in one call, every write (the inbox's
too, for a push no attempt delivered) in one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.case.activities import CaseActivities
from activities.gateway.inbox import InboxActivities
from schemas.case import commands as c
from schemas.case.records import CaseChanges, ClockPlanItem, ClockPlanRequest, Escalation
from schemas.case.stages import CaseStage, Role
from schemas.clock import (
    ClockSpec,
    ClockUnit,
    DeadlineExtension,
    DeadlineSuspension,
    Pause,
    RungKind,
    RungScheduleRequest,
)
from schemas.delivery import InboxQuery, PushKind
from schemas.ledger import (
    AuditTrailQuery,
    CardIssue,
    CardLevel,
    CardReason,
    RatingInput,
    RatingLevel,
    ScoreEventInput,
    ScoreKind,
    SubjectKind,
)
from services.clock.service import ClockService
from services.ledger import Ledger
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY as TEST_REGISTRY
from tests.case.parties import LEAD, LOCALITY, OTHER, START, new_case
from tests.support.commits import commits_of
from workflows.case import machine, records
from workflows.case.effects import SYSTEM, Recorder


def activities(sessions: async_sessionmaker[AsyncSession]) -> CaseActivities:
    return CaseActivities(ClockService(sessions), Ledger(sessions), sessions)


async def test_plan_clocks_answers_every_kind_of_computation(sessions: async_sessionmaker[AsyncSession]) -> None:
    spec = ClockSpec(started_at=START, limit=5, unit=ClockUnit.WORKING_DAYS, locality=LOCALITY)
    pause = Pause(started_at=START + timedelta(days=1), ended_at=START + timedelta(days=3))
    plan = await activities(sessions).plan_clocks(
        ClockPlanRequest(
            items=[
                ClockPlanItem(key="deadline", schedule=RungScheduleRequest(clock=spec)),
                ClockPlanItem(key="window:return:a1", window=spec),
                ClockPlanItem(key="extended", extension=DeadlineExtension(clock=spec, extension=2)),
                ClockPlanItem(key="paused", suspension=DeadlineSuspension(clock=spec, pause=pause)),
            ]
        )
    )
    results = plan.by_key()
    schedule, window = results["deadline"].schedule, results["window:return:a1"].deadline
    extended, paused = results["extended"].change, results["paused"].change
    assert schedule is not None and window is not None and extended is not None and paused is not None
    assert schedule.deadline.due_at == window.due_at
    assert extended.clock.extensions == [2] and extended.schedule.deadline.due_at > window.due_at
    assert paused.clock.pauses == [pause] and paused.schedule.deadline.due_at > window.due_at
    # The case reads each deadline's day notes, never its readable lines: the plan, kept in the history, has none.
    for deadline in (schedule.deadline, window, extended.schedule.deadline, paused.schedule.deadline):
        assert deadline.notes and deadline.explanation == []


def sample(rec: Recorder) -> CaseChanges:
    actor = c.Actor(department=LEAD, role=Role.LEAD)
    rec.record(actor, "commented", note="on site")
    rec.record(SYSTEM, "written_off", to_stage=CaseStage.CLOSED)
    writes = records.pending(rec.state, rec.effects, "comment")
    card = CardIssue(
        card_id=f"{rec.case_id}.c1",
        subject_id=rec.case_id,
        subject_kind=SubjectKind.CASE,
        department_code=LEAD,
        level=CardLevel.RED,
        reason=CardReason.DEADLINE_OVERDUE,
        step="deadline",
        issued_at=rec.now,
    )
    score = ScoreEventInput(
        event_id=f"{rec.case_id}.e1",
        department_code=LEAD,
        kind=ScoreKind.REDO,
        subject_id=rec.case_id,
        occurred_at=rec.now,
    )
    rating = RatingInput(
        rating_id=f"{rec.case_id}.r1",
        case_id=rec.case_id,
        department_code=LEAD,
        level=RatingLevel.DISSATISFIED,
        rated_at=rec.now,
    )
    writes = writes.model_copy(
        update={
            "cards": [card],
            "scores": [score],
            "ratings": [rating],
            "escalations": [Escalation(department=LEAD, rung=RungKind.ADMONITORY_TALK)],
        }
    )
    return records.case_changes(rec.state, writes)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_record_changes_writes_once_and_counts_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_registry(sessions, [TEST_REGISTRY])
    state = new_case()
    changes = sample(Recorder(state, START + timedelta(days=2)))
    counted = {
        "cards": ("caseloop_cards_issued_total", {"department": LEAD, "colour": "red"}),
        "talks": ("caseloop_escalations_total", {"department": LEAD, "rung": "admonitory_talk"}),
        "commands": ("caseloop_commands_total", {"workflow": "case", "command": "comment"}),
        "loops": ("caseloop_loop_seconds_count", {"kind": "case"}),
    }
    before = {key: metric(name, **labels) for key, (name, labels) in counted.items()}

    first = await activities(sessions).record_changes(changes)
    again = await activities(sessions).record_changes(changes)  # a retried attempt

    assert (first.entries, first.cards, first.scores, first.ratings) == (2, 1, 1, 1)
    assert (again.entries, again.cards, again.scores, again.ratings) == (0, 0, 0, 0)
    after = {key: metric(name, **labels) for key, (name, labels) in counted.items()}
    assert {key: after[key] - before[key] for key in counted} == {"cards": 1, "talks": 1, "commands": 1, "loops": 1}
    trail = await Ledger(sessions).audit_trail(AuditTrailQuery(subject_id=state.case_id))
    assert [(entry.seq, entry.action, entry.reason) for entry in trail.entries] == [
        (2, "commented", "on site"),
        (3, "written_off", None),
    ]


async def test_a_push_handed_over_lands_in_its_inbox_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_registry(sessions, [TEST_REGISTRY])
    state = new_case()
    rec = Recorder(state, START + timedelta(days=1))
    rec.push(LEAD, PushKind.REMINDER, {"rung": "reminder"})
    rec.push("SQ-GONE", PushKind.REMINDER, {"rung": "reminder"})  # no longer in the registry: kept out of the store
    [to_lead, to_nobody] = rec.effects.pushes
    why = "HTTP 503"
    effects = machine.delivery_handed_over(state, to_lead, 6, why, rec.now)
    effects.inboxed.append(to_nobody)
    changes = records.case_changes(state, records.pending(state, effects, None))

    first = await activities(sessions).record_changes(changes)
    again = await activities(sessions).record_changes(changes)  # a retried attempt

    assert (first.entries, first.inboxed, again.inboxed) == (1, 1, 0)
    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code=LEAD))
    [item] = page.items
    assert (item.push_id, item.kind, item.body["rung"]) == (to_lead.push_id, PushKind.REMINDER, "reminder")


async def test_transitions_recorded_side_by_side_share_a_transaction_and_fail_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """At the 17:30 instant every case records its red card at once: the writes that arrive together commit in one
    transaction, and one that the store refuses (a retry with other content) fails only its own call."""
    await import_registry(sessions, [TEST_REGISTRY])
    states = [new_case(case_number=f"2026-{n:04d}") for n in range(7)]
    changes = [sample(Recorder(state, START + timedelta(days=2))) for state in states]
    recorder = activities(sessions)
    with commits_of(sessions) as commits:
        together = await asyncio.gather(*(recorder.record_changes(each) for each in changes[:5]))
    assert [answer.entries for answer in together] == [2] * 5
    assert len(commits) < 5  # the first alone, the others in the next transaction

    first = changes[0].entries[0]
    refused = changes[0].model_copy(update={"entries": [first.model_copy(update={"reason": "other"})]})
    answers = await asyncio.gather(
        *(recorder.record_changes(each) for each in [*changes[5:], refused]), return_exceptions=True
    )
    assert [getattr(answer, "entries", None) for answer in answers[:2]] == [2, 2]
    assert isinstance(answers[2], ApplicationError) and "different content" in answers[2].message
    for state in states:
        trail = await Ledger(sessions).audit_trail(AuditTrailQuery(subject_id=state.case_id))
        assert [entry.action for entry in trail.entries] == ["commented", "written_off"]


async def test_a_transitions_pushes_to_inboxes_commit_with_it_and_the_rest_are_left_to_delivery(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """A push to a department without a webhook goes in its inbox in the transition's own write, once however often
    the write is retried; one to a webhook, to an inactive or an unknown department is left to the delivery
    activity, and a write the store refuses puts nothing in any inbox."""
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        TEST_REGISTRY.read_text(encoding="utf-8").replace(
            "    name: 宿遷市水利局\n",
            "    name: 宿遷市水利局\n    webhook_url: https://water.example.gov.cn/hook\n    secret_ref: water\n",
        ),
        encoding="utf-8",
    )
    await import_registry(sessions, [registry])
    state = new_case()
    rec = Recorder(state, START + timedelta(days=1))
    rec.record(SYSTEM, "commented", reason="on site")
    for department in (LEAD, OTHER, "SQ-OLD", "SQ-GONE"):
        rec.push(department, PushKind.REMINDER, {"rung": "reminder"})
    to_lead = rec.effects.pushes[0]
    changes = records.case_changes(state, records.pending(state, rec.effects, "comment"), rec.effects.pushes)
    lead_before = metric("caseloop_deliveries_total", department=LEAD, channel="inbox", outcome="inboxed")

    plain = changes.model_copy(update={"pushes": []})
    refused = changes.model_copy(update={"entries": [changes.entries[0].model_copy(update={"reason": "other"})]})
    assert (await activities(sessions).record_changes(plain)).held == []
    with pytest.raises(ApplicationError, match="different content"):
        await activities(sessions).record_changes(refused)
    assert (await InboxActivities(sessions).read_inbox(InboxQuery(department_code=LEAD))).items == []
    first = await activities(sessions).record_changes(changes)
    again = await activities(sessions).record_changes(changes)  # a retried attempt

    assert first.held == again.held == [to_lead.push_id]
    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code=LEAD))
    assert [item.push_id for item in page.items] == [to_lead.push_id]
    for department in (OTHER, "SQ-OLD"):
        assert (await InboxActivities(sessions).read_inbox(InboxQuery(department_code=department))).items == []
    after = metric("caseloop_deliveries_total", department=LEAD, channel="inbox", outcome="inboxed")
    assert after - lead_before == 2  # an attempt row and a count per call that put it there, as the gateway's
