"""A department system that refuses a push for good: the case records it in its audit trail and carries on."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.worker import Worker

from activities.registry.importer import import_registry
from schemas.case import commands as c
from schemas.case.stages import CaseStage
from tests.case.conftest import REGISTRY
from tests.case.driver import Driver, coordinator
from tests.case.parties import LEAD, OTHER
from tests.case.scenarios import terminate
from tests.gateway.receiver import Answer, Receiver
from workflows.case.workflow import CaseWorkflow


async def test_a_refused_push_is_recorded_and_the_case_goes_on(
    case_worker: Worker, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELOOP_SECRET_CASE_TEST", "case-test-secret")
    receiver = Receiver([Answer(422, "we do not know this case")])
    with receiver.running():
        with_webhook = REGISTRY.read_text(encoding="utf-8").replace(
            "    name: 宿遷市水利局\n",
            f"    name: 宿遷市水利局\n    webhook_url: {receiver.url}\n    secret_ref: case-test\n",
        )
        path = tmp_path / "registry.yaml"
        path.write_text(with_webhook, encoding="utf-8")
        await import_registry(driver.sessions, [path])

        handle = await driver.start()
        await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
        await handle.execute_update(
            CaseWorkflow.reroute,
            c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=OTHER, reason="water review"),
        )
        await terminate(handle)  # completes only once every push is out, delivered or refused

    assert len(receiver.answered(422)) == 1
    entries = await driver.audit(handle.id)
    [failed] = [entry for entry in entries if entry.action == "delivery_failed"]
    assert failed.actor == "system" and failed.reason is not None
    assert "422" in failed.reason and f"case_assignment {handle.id}.p" in failed.reason and OTHER in failed.reason
    # The refusal may come back before or after the termination; the case records it either way.
    assert "terminated" in [entry.action for entry in entries]
    assert (await handle.result()).stage is CaseStage.TERMINATED
