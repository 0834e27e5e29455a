"""A set of cases and hand-offs driven through the store activities, then `/metrics` scraped over HTTP: every
count, gauge and working-hours histogram matches what happened, department series start at 0 for each registry
code, and a code outside the registry is refused as a label."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.case.activities import CaseActivities
from activities.handoff.records import HandoffStoreActivities
from activities.loop_metrics import LoopMetrics
from activities.metrics import KNOWN_CODES, KnownCodes
from activities.store.delivery import InboxRepository
from schemas.case.records import CaseChanges
from schemas.clock import SHANGHAI
from schemas.handoff.records import HandoffWrites
from schemas.handoff.state import StoreWrite
from schemas.ledger import (
    AuditEntry,
    CardIssue,
    CardLevel,
    CardReason,
    CardRevocation,
    CaseSnapshot,
    HandoffSnapshot,
    HandoffTransition,
    JointMeetingSnapshot,
    SubjectKind,
)
from services.clock.service import ClockService
from services.ledger import Ledger
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY as TEST_REGISTRY
from tests.case.parties import CO_UNIT, LEAD, LOCALITY, OTHER
from tests.metrics.scrape import Growth, family, scrape, series, value

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # a working week, no holiday in it


def snapshot(case_id: str, stage: str, **changes: object) -> CaseSnapshot:
    values: dict[str, object] = {
        "case_id": case_id,
        "matter_code": "M-PERMIT",
        "title": "permit",
        "stage": stage,
        "lead_department": LEAD,
        "locality": LOCALITY,
        "opened_at": MONDAY,
    }
    return CaseSnapshot.model_validate(values | changes)


def entry(
    subject_id: str, kind: SubjectKind, seq: int, step: tuple[str, str | None, str | None, datetime]
) -> AuditEntry:
    action, before, after, at = step
    return AuditEntry(
        subject_id=subject_id,
        subject_kind=kind,
        seq=seq,
        actor="SYSTEM",
        action=action,
        from_stage=before,
        to_stage=after,
        at=at,
    )


def entries(case_id: str, steps: Iterable[tuple[str, str | None, str | None, datetime]]) -> list[AuditEntry]:
    return [entry(case_id, SubjectKind.CASE, seq, step) for seq, step in enumerate(steps, start=1)]


def loop(handoff_id: str, stage: str, **changes: object) -> HandoffSnapshot:
    values: dict[str, object] = {
        "handoff_id": handoff_id,
        "matter_code": "M-PERMIT",
        "direction": "approval_to_supervision",
        "stage": stage,
        "source_department": LEAD,
        "target_department": CO_UNIT,
        "locality": LOCALITY,
        "created_at": MONDAY,
        "pushed_at": MONDAY,
    }
    return HandoffSnapshot.model_validate(values | changes)


def handoff_entry(handoff_id: str, seq: int, before: str, after: str, at: datetime) -> AuditEntry:
    return entry(handoff_id, SubjectKind.HANDOFF, seq, (after, before, after, at))


async def drive(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Three cases: one closed on time (signed in 2 working hours, committed over a weekend-free night), one
    closed late after a redo, one still open and red; two hand-offs: one closed, one unclaimed past its limit."""
    ledger = Ledger(sessions)
    cases = CaseActivities(ClockService(sessions), ledger, sessions)
    day = timedelta(days=1)
    on_time = "METRICS-1"
    await cases.record_changes(
        CaseChanges(
            case=snapshot(on_time, "closed", committed_deadline=MONDAY + 4 * day, closed_at=MONDAY + 2 * day),
            commands=["accept", "sign", "commit", "close"],
            entries=entries(
                on_time,
                [
                    ("launched", "accepted", "launched", MONDAY),
                    ("all_signed", "launched", "awaiting_commitment", MONDAY + timedelta(hours=2)),
                    # 11:00 Monday to 09:30 Tuesday: 1 + 4 + 1 working hours
                    ("commitment_accepted", "awaiting_commitment", "in_progress", MONDAY + timedelta(hours=24.5)),
                    ("review_passed", "closure_submitted", "closed", MONDAY + 2 * day),
                ],
            ),
        )
    )
    late = "METRICS-2"
    await cases.record_changes(
        CaseChanges(
            case=snapshot(late, "closed", committed_deadline=MONDAY + day, closed_at=MONDAY + 3 * day),
            entries=entries(
                late,
                [
                    ("launched", "accepted", "launched", MONDAY),
                    ("redo_ordered", "closure_submitted", "in_progress", MONDAY + day),
                    ("review_passed", "closure_submitted", "closed", MONDAY + 3 * day),
                ],
            ),
        )
    )
    still_open = "METRICS-3"
    await cases.record_changes(
        CaseChanges(
            case=snapshot(still_open, "in_progress", sla_colour="red", committed_deadline=MONDAY + day),
            entries=entries(still_open, [("launched", "accepted", "launched", MONDAY)]),
            cards=[
                CardIssue(
                    card_id=f"{still_open}.red",
                    subject_id=still_open,
                    subject_kind=SubjectKind.CASE,
                    department_code=LEAD,
                    level=CardLevel.RED,
                    reason=CardReason.DEADLINE_OVERDUE,
                    step="deadline",
                    issued_at=datetime.now(SHANGHAI),
                )
            ],
        )
    )
    handoffs = HandoffStoreActivities(ledger)
    closed_loop, claimed, sent = "HO-1", MONDAY + timedelta(hours=3), MONDAY + day
    await handoffs.record_writes(
        HandoffWrites(
            handoff_id=closed_loop,
            writes=[
                StoreWrite(
                    transition=HandoffTransition(
                        entry=handoff_entry(closed_loop, 1, "pushed", "claimed", claimed),
                        handoff=loop(closed_loop, "claimed", claimed_at=claimed),
                    )
                ),
                StoreWrite(
                    transition=HandoffTransition(
                        entry=handoff_entry(closed_loop, 2, "acting", "feedback_sent", sent),
                        handoff=loop(closed_loop, "feedback_sent", claimed_at=claimed, feedback_at=sent),
                    )
                ),
                StoreWrite(
                    transition=HandoffTransition(
                        entry=handoff_entry(closed_loop, 3, "feedback_sent", "loop_closed", sent + timedelta(hours=1)),
                        handoff=loop(
                            closed_loop,
                            "loop_closed",
                            claimed_at=claimed,
                            feedback_at=sent,
                            closed_at=sent + timedelta(hours=1),
                        ),
                    )
                ),
            ],
        )
    )
    overdue = "HO-2"
    await handoffs.record_writes(
        HandoffWrites(
            handoff_id=overdue,
            writes=[
                StoreWrite(
                    transition=HandoffTransition(
                        entry=handoff_entry(overdue, 1, "created", "pushed", MONDAY),
                        handoff=loop(
                            overdue, "pushed", next_due_at=MONDAY + day, next_due_step="claim", sla_colour="red"
                        ),
                    )
                )
            ],
        )
    )
    async with sessions.begin() as session:
        await InboxRepository(session).store(
            {
                "push_id": "push-1",
                "department_code": OTHER,
                "kind": "card",
                "subject_id": still_open,
                "issued_at": MONDAY,
                "received_at": MONDAY,
                "body": {"card": "red"},
            }
        )


async def test_a_driven_set_of_cases_and_handoffs_reads_back_from_metrics(
    sessions: async_sessionmaker[AsyncSession], store_url: str, tmp_path: Path
) -> None:
    await import_registry(sessions, [TEST_REGISTRY])
    before = await scrape(store_url, tmp_path)
    # Every registry code has its counters at 0 before anything happens.
    for code in (LEAD, LOCALITY, CO_UNIT, OTHER):
        assert series("caseloop_cases_launched_total", department=code) in before
        assert series("caseloop_cards_issued_total", colour="red", department=code) in before
        assert series("caseloop_cases_closed_total", department=code, timeliness="late") in before

    await drive(sessions)
    after = await scrape(store_url, tmp_path)
    grew = Growth(before, after)

    assert grew("caseloop_cases_launched_total", department=LEAD) == 3
    assert grew("caseloop_cases_closed_total", department=LEAD, timeliness="on_time") == 1
    assert grew("caseloop_cases_closed_total", department=LEAD, timeliness="late") == 1
    assert grew("caseloop_cases_redone_total", department=LEAD) == 1
    assert grew("caseloop_cases_reopened_total", department=LEAD) == 0
    assert grew("caseloop_cards_issued_total", department=LEAD, colour="red") == 1
    assert grew("caseloop_step_working_hours_count", kind="case", step="sign") == 1
    assert grew("caseloop_step_working_hours_sum", kind="case", step="sign") == pytest.approx(2)
    assert grew("caseloop_step_working_hours_sum", kind="case", step="commit") == pytest.approx(6)
    # Closed Wednesday 09:00 from Monday 09:00: two full working days of 7.5 office hours.
    assert grew("caseloop_step_working_hours_count", kind="case", step="close") == 2
    assert grew("caseloop_step_working_hours_sum", kind="handoff", step="claim") == pytest.approx(3)
    assert grew("caseloop_step_working_hours_count", kind="handoff", step="close") == 1

    assert family(after, "caseloop_open_cases") == {
        (("department", LEAD), ("locality", LOCALITY), ("sla_colour", "red"), ("stage", "in_progress")): 1
    }
    assert family(after, "caseloop_open_handoffs") == {
        (
            ("department", CO_UNIT),
            ("locality", LOCALITY),
            ("past_limit", "true"),
            ("sla_colour", "red"),
            ("stage", "pushed"),
        ): 1
    }
    assert family(after, "caseloop_inbox_depth") == {(("department", OTHER),): 1}
    assert family(after, "caseloop_cards_this_month") == {(("colour", "red"), ("department", LEAD)): 1}
    assert value(after, "caseloop_read_model_up") == 1


async def test_appeals_and_leaders_meetings_are_counted_once_and_read_back_from_metrics(
    sessions: async_sessionmaker[AsyncSession], store_url: str, tmp_path: Path
) -> None:
    """A red card revoked on appeal; a meeting requested for two departments, then its outcome recorded; another
    still open. Each is counted once, however often its write is repeated, and the open one reads from the store."""
    await import_registry(sessions, [TEST_REGISTRY])
    before = await scrape(store_url, tmp_path)
    for code in (LEAD, LOCALITY, CO_UNIT, OTHER):
        assert series("caseloop_cards_revoked_total", colour="red", department=code) in before
        for event in ("requested", "outcome_recorded"):
            assert series("caseloop_joint_meetings_total", department=code, event=event) in before
        assert series("caseloop_joint_meetings_open", department=code) in before
        assert value(before, "caseloop_joint_meetings_open", department=code) == 0

    cases = CaseActivities(ClockService(sessions), Ledger(sessions), sessions)
    case_id, now = "APPEAL-1", datetime.now(SHANGHAI)
    card = CardIssue(
        card_id=f"{case_id}.red",
        subject_id=case_id,
        subject_kind=SubjectKind.CASE,
        department_code=LEAD,
        level=CardLevel.RED,
        reason=CardReason.DEADLINE_OVERDUE,
        step="deadline",
        issued_at=now,
    )
    revocation = CardRevocation(card_id=card.card_id, revoked_at=now, revoked_by="coordinator", reason="appeal upheld")
    requested = JointMeetingSnapshot(
        meeting_id=f"{case_id}:meeting-1",
        case_id=case_id,
        departments=[LEAD, CO_UNIT],
        requested_by="coordinator",
        basis="a major problem neither department can solve",
        requested_at=now,
    )
    decided = requested.model_copy(update={"outcome": "the city funds the repair", "decided_at": now})
    still_open = requested.model_copy(update={"meeting_id": f"{case_id}:meeting-2", "departments": [CO_UNIT]})
    steps = [
        ("launched", "accepted", "launched", MONDAY),
        ("card_revoked", "in_progress", "in_progress", now),
        ("meeting_requested", "in_progress", "in_progress", now),
        ("meeting_decided", "in_progress", "in_progress", now),
    ]
    trail = entries(case_id, steps)
    case = snapshot(case_id, "in_progress")
    writes = [
        CaseChanges(case=case, entries=trail[:2], cards=[card], revocations=[revocation]),
        CaseChanges(case=case, entries=trail[:3], meetings=[requested]),
        CaseChanges(case=case, entries=trail[:4], meetings=[decided, still_open]),
    ]
    for changes in writes:
        await cases.record_changes(changes)
        await cases.record_changes(changes)  # a retry counts nothing
    after = await scrape(store_url, tmp_path)
    grew = Growth(before, after)

    assert grew("caseloop_cards_issued_total", department=LEAD, colour="red") == 1
    assert grew("caseloop_cards_revoked_total", department=LEAD, colour="red") == 1
    assert grew("caseloop_cards_revoked_total", department=LEAD, colour="yellow") == 0
    assert grew("caseloop_joint_meetings_total", department=LEAD, event="requested") == 1
    assert grew("caseloop_joint_meetings_total", department=CO_UNIT, event="requested") == 2
    assert grew("caseloop_joint_meetings_total", department=LEAD, event="outcome_recorded") == 1
    assert grew("caseloop_joint_meetings_total", department=CO_UNIT, event="outcome_recorded") == 1
    assert grew("caseloop_joint_meetings_total", department=OTHER, event="requested") == 0
    assert {labels: value for labels, value in family(after, "caseloop_joint_meetings_open").items() if value} == {
        (("department", CO_UNIT),): 1
    }
    # The revoked card is no longer this month's.
    assert family(after, "caseloop_cards_this_month") == {}


async def test_a_code_outside_the_registry_is_refused_and_one_imported_since_is_counted(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = LoopMetrics(Ledger(sessions))
    monkeypatch.setattr(KnownCodes, "RELOAD_SECONDS", 0.0)  # every miss reads the registry again
    await import_registry(sessions, [TEST_REGISTRY])
    KNOWN_CODES.load([LEAD])  # loaded before the registry held the others
    try:
        refused = _sample("caseloop_metric_labels_refused_total", metric="caseloop_cards_issued_total")
        other = _sample("caseloop_cards_issued_total", department=OTHER, colour="yellow")
        await metrics.card_issued("case-1234-not-a-code", "yellow")
        await metrics.card_issued(OTHER, "yellow")  # in the registry since: read again, counted
        assert _sample("caseloop_metric_labels_refused_total", metric="caseloop_cards_issued_total") == refused + 1
        assert _sample("caseloop_cards_issued_total", department=OTHER, colour="yellow") == other + 1
        assert _sample("caseloop_cards_issued_total", department="case-1234-not-a-code", colour="yellow") == 0
    finally:
        KNOWN_CODES.forget()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
