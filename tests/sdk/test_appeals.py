"""Issue 14 through the SDK and the front door on the dev server: the coordinator revokes a card on appeal and the
score follows; a lead cannot; the coordinator reports the case to the leaders' joint meeting and records its outcome;
the view explains each running deadline."""

from __future__ import annotations

import pytest

from caseloop import CaseClient
from caseloop.errors import Forbidden, InputRejected
from schemas.case.stages import ReturnRuling, SupervisionLevel
from tests.sdk.conftest import Connect
from tests.sdk.world import case_number
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG


async def test_a_card_appeal_and_a_leaders_meeting(client: CaseClient, connect: Connect, matter: str) -> None:
    case = await client.launch(case_number=case_number(), matter_code=matter, locality_code=SUCHENG, title="尾水管線")
    coordinator = (await connect(BUSINESS_OFFICE)).case_by_id(case.case_id, actor="coordinator")
    lead = (await connect(HOUSING)).case_by_id(case.case_id, actor="lead")
    await coordinator.accept()
    await lead.request_return(reason="not our duty", legal_basis="三定方案")
    await coordinator.rule_on_return(department=HOUSING, ruling=ReturnRuling.UPHOLD, reason="it is yours")
    [card] = (await case.state()).cards
    assert card.card_id is not None and card.department == HOUSING

    with pytest.raises(Forbidden):
        await lead.revoke_card(card_id=card.card_id, reason="we disagree")
    with pytest.raises(InputRejected) as refused:
        await coordinator.revoke_card(card_id=card.card_id)
    assert (refused.value.rule, refused.value.field) == ("reason.required", "reason")
    revoked = await coordinator.revoke_card(card_id=card.card_id, reason="the function list was out of date")
    assert revoked.subject_id == card.card_id
    [shown] = (await case.state()).cards
    assert (shown.revoked_by, shown.revocation_reason) == (BUSINESS_OFFICE, "the function list was out of date")

    requested = await coordinator.request_joint_meeting(reason="the pipeline crosses three districts")
    assert requested.subject_id == "m1"
    await coordinator.record_meeting_outcome(meeting_id="m1", outcome="the housing bureau leads; done in a month")
    view = await case.state()
    assert view.supervision_level is SupervisionLevel.LEADERS_MEETING
    [meeting] = view.meetings
    assert (meeting.requested_by and meeting.requested_by.department, meeting.outcome) == (
        BUSINESS_OFFICE,
        "the housing bureau leads; done in a month",
    )
    assert meeting.departments and meeting.decided_by == BUSINESS_OFFICE
    running = [clock for clock in view.clocks if clock.due_at is not None and not clock.suspended]
    assert running and all(clock.explanation is not None for clock in running)
