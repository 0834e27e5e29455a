"""The blocking facade, as a department system without asyncio uses it: the same calls, the same errors."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop.errors import InputRejected, NotFound
from caseloop.sync import CaseClient
from schemas.case.stages import CaseStage
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG, target_of
from workers.resources import Resources
from workers.settings import Settings


def play(target: str, queue: str, store: str, matter: str) -> None:
    with (
        CaseClient.connect(
            Settings(_env_file=None),  # type: ignore[call-arg]
            target=target,
            task_queue=queue,
            store_url=store,
            system=f"sync-{uuid.uuid4().hex[:8]}",
        ) as client
    ):
        case = client.launch(
            case_number="2026-0200", matter_code=matter, locality_code=SUCHENG, title="t", coordinator=BUSINESS_OFFICE
        )
        assert case.accept(actor=f"coordinator:{BUSINESS_OFFICE}").stage is CaseStage.LAUNCHED
        lead = case.acting_as(f"lead:{HOUSING}")
        assert lead.sign().seq == 4
        with pytest.raises(InputRejected) as rejected:
            lead.sign()
        assert rejected.value.field is not None
        assert client.case("2026-0200").state().stage is CaseStage.LAUNCHED
        assert [entry.action for entry in case.timeline().entries][-1] == "signed"
        with pytest.raises(NotFound):
            client.case("nothing").timeline()
        assert client.count(matter=matter) == len(client.list(matter=matter, limit=None)) <= 1
        assert client.read_inbox(HOUSING).department_code == HOUSING


async def test_the_blocking_client_drives_a_case(
    dev_env: WorkflowEnvironment, queue: str, store: str, worker: Resources, matter: str
) -> None:
    # The facade blocks its caller; the test's event loop (which runs the worker) stays free in another thread.
    await asyncio.to_thread(play, target_of(dev_env), queue, store, matter)
