"""The blocking facade, as a department system without asyncio uses it: the same calls, the same errors, over the
door."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from caseloop.errors import Forbidden, InputRejected, NotFound
from caseloop.sync import CaseClient
from schemas.access import CredentialKind
from schemas.case.stages import CaseStage
from tests.sdk.world import DEVELOPMENT_REFORM, World, case_number
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG


def play(url: str, keys: dict[str, str], matter: str) -> None:
    number = case_number()
    with CaseClient.connect(url, keys[DEVELOPMENT_REFORM]) as client, CaseClient.connect(url, keys[HOUSING]) as housing:
        assert (client.department, client.kind) == (DEVELOPMENT_REFORM, CredentialKind.DEPARTMENT)
        case = client.launch(case_number=number, matter_code=matter, locality_code=SUCHENG, title="t")
        with CaseClient.connect(url, keys[BUSINESS_OFFICE]) as coordinator:
            accepted = coordinator.case_by_id(case.case_id).accept(actor="coordinator")
        assert accepted.stage is CaseStage.LAUNCHED
        lead = housing.case_by_id(case.case_id).acting_as("lead")
        assert lead.sign().seq == 4
        with pytest.raises(InputRejected) as rejected:
            lead.sign()
        assert rejected.value.field is not None
        with pytest.raises(Forbidden):
            case.sign(actor="lead")
        assert client.case(number).state().stage is CaseStage.LAUNCHED
        assert [entry.action for entry in case.timeline().entries][-1] == "signed"
        with pytest.raises(NotFound):
            client.case("nothing").timeline()
        assert client.count(matter=matter) == len(client.list(matter=matter, limit=None)) <= 1
        assert housing.read_inbox().department_code == HOUSING
        schedule = client.deadline(started_at=datetime(2026, 9, 30, 9, 0, tzinfo=UTC), limit=3, unit="working-days")
        assert schedule.deadline.due_at > datetime(2026, 10, 8, tzinfo=UTC), "the National Day holidays do not count"


async def test_the_blocking_client_drives_a_case(door: World, matter: str) -> None:
    keys = {department: await door.key(department) for department in (DEVELOPMENT_REFORM, HOUSING, BUSINESS_OFFICE)}
    # The facade blocks its caller; the test's event loop (which runs the worker and the door) stays free.
    await asyncio.to_thread(play, door.url, keys, matter)
