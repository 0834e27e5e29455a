"""Department systems that refuse a push for good, or stay down: the case records it, puts what it could not
deliver in the department's inbox, and carries on; neither continue-as-new nor completion waits on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.case.stages import CaseStage
from schemas.delivery import DeliveryBatch, Push
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.driver import Driver, coordinator, send
from tests.case.parties import LEAD, OTHER
from tests.case.scenarios import terminate
from tests.gateway.receiver import Answer, Receiver
from workflows.case.workflow import CaseWorkflow


async def water_bureau_behind(receiver: Receiver, driver: Driver, tmp_path: Path) -> None:
    """The registry with the water bureau (the reroute target) reached through `receiver`'s webhook."""
    with_webhook = REGISTRY.read_text(encoding="utf-8").replace(
        "    name: 宿遷市水利局\n",
        f"    name: 宿遷市水利局\n    webhook_url: {receiver.url}\n    secret_ref: case-test\n",
    )
    path = tmp_path / "registry.yaml"
    path.write_text(with_webhook, encoding="utf-8")
    await import_registry(driver.sessions, [path])


async def test_a_refused_push_is_recorded_and_the_case_goes_on(
    case_worker: Worker, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELOOP_SECRET_CASE_TEST", "case-test-secret")
    receiver = Receiver([Answer(422, "we do not know this case")])
    with receiver.running():
        await water_bureau_behind(receiver, driver, tmp_path)

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


async def test_a_push_to_a_system_that_stays_down_goes_to_its_inbox_and_never_holds_up_the_case(
    case_worker: Worker, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELOOP_SECRET_CASE_TEST", "case-test-secret")
    # It asks for half an hour between attempts (Retry-After), so that no attempt is on its way when the case
    # continues as new: with retries five seconds apart, the retry's timer and the continue-as-new's grace fell due
    # at one skipped instant now and then, and the test server kept its time locked for the attempt the old run
    # left behind, so the new run's retries never came (the test hung until its timeout).
    receiver = Receiver([Answer(503, "down for maintenance", headers={"Retry-After": "1800"})])
    with receiver.running():
        await water_bureau_behind(receiver, driver, tmp_path)
        handle = await driver.start(policy={"max_history_events": 50, "push_attempts": 8})
        await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
        await send(
            handle,
            CaseWorkflow.reroute,
            c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=OTHER, reason="water review"),
        )
        for number in range(3):
            await send(handle, CaseWorkflow.comment, c.CommentOnCase(actor=coordinator, text=f"note {number}"))
        await driver.settle()
        # The case continued as new with the push still retrying: the next run carries it and sends it again.
        view = await driver.view(handle)
        [push_id] = view.undelivered
        assert view.runs >= 2 and push_id.startswith(f"{handle.id}.p")
        await terminate(handle)  # completes once the push has had its attempts

    attempts = [request for request in receiver.requests if Push.model_validate_json(request.body).push_id == push_id]
    assert len(attempts) >= 8 and {request.status for request in attempts} == {503}
    entries = await driver.audit(handle.id)
    [handed] = [entry for entry in entries if entry.action == "delivery_handed_over"]
    assert handed.actor == "system" and handed.reason is not None and "8 attempts failed" in handed.reason
    assert f"case_assignment {push_id} waits in the inbox of {OTHER}" in (handed.reason or "")
    assert (OTHER, "case_assignment") in await driver.pushes(handle.id)
    final = await handle.result()
    assert final.stage is CaseStage.TERMINATED and final.undelivered == []


async def test_a_commands_pushes_to_inboxes_are_there_when_it_returns_and_take_no_delivery_activity(
    case_worker: Worker, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written with the transition (INBOX_WITH_RECORDS_PATCH): the push to a department without a webhook is in its
    inbox by the time the command answers; the push to a webhook still goes out through the delivery activity."""
    monkeypatch.setenv("CASELOOP_SECRET_CASE_TEST", "case-test-secret")
    receiver = Receiver([Answer(200, "ok")])
    with receiver.running():
        await water_bureau_behind(receiver, driver, tmp_path)
        handle = await driver.start()
        await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
        assert (LEAD, "case_assignment") in await driver.pushes(handle.id)
        await send(
            handle,
            CaseWorkflow.reroute,
            c.RerouteAssignment(actor=coordinator, department=LEAD, to_department=OTHER, reason="water review"),
        )
        await terminate(handle)

    delivered = [Push.model_validate_json(request.body) for request in receiver.requests]
    assert [(push.department_code, push.kind) for push in delivered] == [(OTHER, "case_assignment")]
    batched = []
    async for event in handle.fetch_history_events():
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name == "deliver_transition":
            [payload] = scheduled.input.payloads
            batched += DeliveryBatch.model_validate_json(payload.data).pushes
    assert [push.department_code for push in batched] == [OTHER]
