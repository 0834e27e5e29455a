"""A whole case through the SDK and the front door on the dev server, each party with its own key: launch, every
step to write-off, state, timeline, list filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caseloop import CaseClient, CaseSummary
from schemas.case.stages import AssignmentStatus, CardColour, CaseStage, Role
from schemas.case.state import case_id_of
from schemas.ledger import RatingLevel
from tests.sdk.conftest import Connect
from tests.sdk.world import DEVELOPMENT_REFORM, case_number
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG, SUYU, eventually


async def test_a_case_from_launch_to_write_off(client: CaseClient, connect: Connect, matter: str) -> None:
    number = case_number()
    case = await client.launch(
        case_number=number, matter_code=matter, locality_code=SUCHENG, title="恒力功能性纖維項目尾水管線施工"
    )
    again = await client.launch(
        case_number=number, matter_code=matter, locality_code=SUCHENG, title="恒力功能性纖維項目尾水管線施工"
    )
    assert again.case_id == case.case_id == client.case(number).case_id == case_id_of(DEVELOPMENT_REFORM, number)
    registered = await case.state()
    assert (registered.stage, registered.matter_code, registered.locality) == (CaseStage.REGISTERED, matter, SUCHENG)
    assert (registered.system, registered.coordinator) == (DEVELOPMENT_REFORM, BUSINESS_OFFICE), "the registry's"

    coordinator = (await connect(BUSINESS_OFFICE)).case_by_id(case.case_id, actor="coordinator")
    lead = (await connect(HOUSING)).case_by_id(case.case_id, actor="lead")
    locality = (await connect(SUCHENG)).case_by_id(case.case_id)

    accepted = await coordinator.accept()
    assert accepted.stage is CaseStage.LAUNCHED and accepted.command == "accept"
    await lead.sign()
    signed = await locality.acting_as("locality").sign()
    assert signed.stage is CaseStage.AWAITING_COMMITMENT
    await lead.commit(limit="15 working-days", plan="re-route the pipeline along the canal road")
    await locality.cosign_commitment(actor=f"locality:{SUCHENG}")
    decided = await coordinator.decide_commitment(decision="accept")
    assert decided.stage is CaseStage.IN_PROGRESS

    view = await case.state()
    assert view.lead_department == HOUSING and view.committed_due_at is not None
    due = view.next_due_at
    assert due is not None
    assert [(a.department, a.status) for a in view.assignments] == [
        (HOUSING, AssignmentStatus.SIGNED),
        (SUCHENG, AssignmentStatus.SIGNED),
    ]
    in_progress = await eventually(lambda: client.list(matter=matter), lambda found: _stages(found) == ["in_progress"])
    assert [(s.case_id, s.lead_department, s.locality, s.card_colour) for s in in_progress] == [
        (case.case_id, HOUSING, SUCHENG, CardColour.NONE)
    ]
    assert await client.count(matter=matter, stage=CaseStage.IN_PROGRESS, department=HOUSING) == 1
    assert await client.count(matter=matter, stage=[CaseStage.REGISTERED, CaseStage.CLOSED]) == 0
    assert await client.count(matter=matter, locality=SUYU) == 0
    assert await client.count(matter=matter, overdue=False, card_colour="none") == 1
    assert await client.count(matter=matter, overdue=True) == 0
    assert await client.count(matter=matter, due_before=due + timedelta(seconds=1)) == 1
    assert await client.count(matter=matter, due_before=due - timedelta(seconds=1)) == 0

    await lead.report_progress(summary="canal-road route approved", percent_done=60)
    await lead.submit_closing_report(
        result="pipeline laid and connected", evidence=["photo-0417"], requester_confirmed=True
    )
    await locality.cosign_closing_report(actor="locality")
    await coordinator.review(verdict="pass")
    await case.rate_follow_up(actor="requester", rating=RatingLevel.SATISFIED)
    closed = await coordinator.write_off()
    assert closed.stage is CaseStage.CLOSED

    timeline = await case.timeline(limit=1000)
    assert [entry.action for entry in timeline.entries] == [
        "registered",
        "accepted",
        "launched",
        "signed",
        "signed",
        "all_signed",
        "commitment_filed",
        "commitment_cosigned",
        "commitment_accepted",
        "progress_reported",
        "closing_report_submitted",
        "closing_report_cosigned",
        "review_passed",
        "rated",
        "written_off",
    ]
    assert timeline.total == closed.seq == 15
    assert [(e.actor.role, e.actor.department) for e in timeline.entries[3:5]] == [
        (Role.LEAD, HOUSING),
        (Role.LOCALITY, SUCHENG),
    ]
    later = await case.timeline(after_seq=13)
    assert [entry.seq for entry in later.entries] == [14, 15]

    closed_list = await eventually(lambda: client.list(matter=matter), lambda found: _stages(found) == ["closed"])
    assert closed_list[0].next_due_at is None and closed_list[0].status == "running"  # the reopen window runs
    assert await client.count(matter=matter, stage="in_progress") == 0
    assert await client.count(matter=matter, overdue=False) == 1, "nothing due is not overdue"


async def test_overdue_and_due_before_find_a_case_received_long_ago(client: CaseClient, matter: str) -> None:
    received = datetime.now(UTC) - timedelta(days=20)
    old = await client.launch(
        case_number=case_number("late"),
        matter_code=matter,
        locality_code=SUYU,
        title="a problem nobody accepted",
        received_at=received,
    )
    fresh = await client.launch(
        case_number=case_number("fresh"), matter_code=matter, locality_code=SUCHENG, title="new"
    )
    # Registered, each with its accept deadline counted from receipt.
    both = await eventually(
        lambda: client.list(matter=matter), lambda found: len(found) == 2 and all(s.next_due_at for s in found)
    )
    assert {summary.case_id for summary in both} == {old.case_id, fresh.case_id}

    overdue = await client.list(matter=matter, overdue=True)
    assert [summary.case_id for summary in overdue] == [old.case_id]
    assert [s.case_id for s in await client.list(matter=matter, overdue=False)] == [fresh.case_id]
    assert [s.case_id for s in await client.list(matter=matter, due_before=datetime.now(UTC))] == [old.case_id]
    assert [s.case_id for s in await client.list(matter=matter, locality=[SUYU, "SQ-SHY"])] == [old.case_id]
    assert await client.list(matter=matter, limit=1) in ([both[0]], [both[1]])


def _stages(found: list[CaseSummary]) -> list[str | None]:
    return [str(summary.stage) if summary.stage is not None else None for summary in found]
