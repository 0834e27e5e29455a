"""Commands through Temporal: rejections name their rule and record nothing, repeats change the case once,
and a case continues as new without losing anything."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.case.stages import CaseStage, CommitmentDecision, Role
from schemas.clock import RungKind
from tests.case.driver import CaseHandle, Driver, coordinator, lead, locality, search_attributes, send
from tests.case.parties import LEAD, OTHER
from tests.case.scenarios import terminate, wd
from tests.case.test_ladder import rung
from workflows.case.workflow import CaseWorkflow


async def rejected(
    handle: CaseHandle, update: Any, command: c.CaseCommand, id: str | None = None
) -> tuple[str, str | None, str]:
    """Sends a command the case must refuse; returns the rule, the field and the message."""
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await send(handle, update, command, id=id)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Rejected" and cause.non_retryable
    [details] = cause.details
    assert isinstance(details, dict)
    return details["rule"], details["field"], cause.message


async def accepted_updates(handle: CaseHandle) -> int:
    history = await handle.fetch_history()
    return sum(event.HasField("workflow_execution_update_accepted_event_attributes") for event in history.events)


async def test_validators_reject_wrong_actor_state_reason_and_late_extension(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start()
    assert await rejected(handle, CaseWorkflow.accept, c.AcceptCase(actor=lead)) == (
        "actor.role",
        "actor.role",
        "accept is for the coordinator, not the lead (rule actor.role, field actor.role)",
    )
    impostor = c.Actor(department=OTHER, role=Role.COORDINATOR)
    assert (await rejected(handle, CaseWorkflow.accept, c.AcceptCase(actor=impostor)))[:2] == (
        "actor.department",
        "actor.department",
    )
    assert (await rejected(handle, CaseWorkflow.sign, c.SignAssignment(actor=lead)))[:2] == ("stage", "stage")
    assert (await rejected(handle, CaseWorkflow.reject, c.RejectCase(actor=coordinator)))[:2] == (
        "reason.required",
        "reason",
    )
    assert await accepted_updates(handle) == 0  # a validator's rejection never enters the history
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    assert [e.action for e in (await driver.timeline(handle)).entries] == ["registered", "accepted", "launched"]
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await handle.execute_update(CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(10), plan="p"))
    assert (await rejected(handle, CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=wd(21), plan="p")))[:2] == (
        "commitment.statutory-limit",
        "limit",
    )
    await handle.execute_update(CaseWorkflow.cosign_commitment, c.CosignCommitment(actor=locality))
    await handle.execute_update(
        CaseWorkflow.decide_commitment, c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.ACCEPT)
    )
    view = await driver.view(handle)
    assert view.committed_due_at is not None
    await driver.sleep_until(view.committed_due_at)
    seq = (await driver.view(handle)).seq
    late = c.RequestExtension(actor=lead, amount=2, reason="too late now")
    assert (await rejected(handle, CaseWorkflow.request_extension, late))[:2] == ("extension.after-expiry", "amount")
    assert (await driver.view(handle)).seq == seq
    await terminate(handle)


async def test_handler_rejections_after_a_registry_or_clock_lookup_record_nothing(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start()
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    seq = (await driver.view(handle)).seq
    unknown = c.RerouteAssignment(actor=coordinator, department=LEAD, to_department="SQ-NOWHERE", reason="x")
    assert (await rejected(handle, CaseWorkflow.reroute, unknown))[:2] == (
        "reroute.unknown-department",
        "to_department",
    )
    retired = c.RerouteAssignment(actor=coordinator, department=LEAD, to_department="SQ-OLD", reason="x")
    assert (await rejected(handle, CaseWorkflow.reroute, retired))[:2] == (
        "reroute.inactive-department",
        "to_department",
    )
    assert (await driver.view(handle)).seq == seq

    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await driver.sleep_until(rung(await driver.view(handle), "commit", RungKind.RED))
    seq = (await driver.view(handle)).seq
    too_short = c.DecideCommitment(actor=coordinator, decision=CommitmentDecision.IMPOSE, limit=wd(1), reason="x")
    assert (await rejected(handle, CaseWorkflow.decide_commitment, too_short))[:2] == (
        "commitment.deadline-passed",
        "limit",
    )
    view = await driver.view(handle)
    assert view.seq == seq and view.stage is CaseStage.AWAITING_COMMITMENT and view.commitment is None
    await terminate(handle)


async def test_the_same_command_twice_changes_the_case_once(case_worker: Worker, driver: Driver) -> None:
    handle = await driver.start()
    first = await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-accept")
    again = await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-accept")
    assert again == first
    signed = await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead), id="cmd-sign-lead")
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    # A client retrying after a lost answer, once the case has moved on: the first answer, not a rejection.
    retried = await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead), id="cmd-sign-lead")
    assert retried == signed and retried.update_id == "cmd-sign-lead"
    actions = [entry.action for entry in (await driver.timeline(handle)).entries]
    assert actions == ["registered", "accepted", "launched", "signed", "signed", "all_signed"]
    assert len(await driver.audit(handle.id)) == 6
    await terminate(handle)


async def test_continue_as_new_carries_the_case_its_clocks_and_its_command_ids(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start(policy={"max_history_events": 50})
    accepted = await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-accept")
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=locality))
    await send(handle, CaseWorkflow.comment, c.CommentOnCase(actor=locality, text="on site tomorrow"))
    await driver.settle()
    view = await driver.view(handle)
    assert view.runs >= 2
    attributes = await search_attributes(handle)
    assert (attributes["CaseloopStage"], attributes["CaseloopLeadDepartment"]) == ("launched", LEAD)
    # Temporal forgets update ids at continue-as-new; the case remembers them.
    repeated = await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-accept")
    assert repeated == accepted
    assert (await driver.view(handle)).seq == view.seq
    # The lead's sign clock, armed in the first run, still fires in a later one.
    await driver.sleep_until(rung(view, "sign:a1", RungKind.RED))
    view = await driver.view(handle)
    assert [(card.department, card.level.value) for card in view.cards] == [(LEAD, "yellow")]
    assert [e.action for e in (await driver.timeline(handle)).entries] == [
        "registered",
        "accepted",
        "launched",
        "signed",
        "commented",
        "reminder",
        "card_yellow",
    ]
    assert [e.seq for e in await driver.audit(handle.id)] == list(range(1, 8))
    await terminate(handle)
    assert (await handle.result()).stage is CaseStage.TERMINATED


async def test_a_command_id_used_again_for_another_command_is_refused_across_runs(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start(policy={"max_history_events": 50})
    accepted = await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-1")
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=locality), id="cmd-2")
    await send(handle, CaseWorkflow.comment, c.CommentOnCase(actor=locality, text="on site tomorrow"))
    await driver.settle()
    view = await driver.view(handle)
    assert view.runs >= 2  # Temporal has forgotten the ids; the case answers for them
    # Another command under an id a former run applied: refused, nothing applied. (An id the current run applied
    # Temporal answers itself, with the first result, before the workflow sees it; the door's idempotency keys
    # refuse that case for department systems.)
    assert (await rejected(handle, CaseWorkflow.sign, c.SignAssignment(actor=lead), id="cmd-1"))[:2] == (
        "command_id.reused",
        "command_id",
    )
    assert (await driver.view(handle)).seq == view.seq
    # The same command again still answers its first result.
    assert await send(handle, CaseWorkflow.accept, c.AcceptCase(actor=coordinator), id="cmd-1") == accepted
    await send(handle, CaseWorkflow.sign, c.SignAssignment(actor=lead), id="cmd-3")
    assert (await driver.view(handle)).stage is CaseStage.AWAITING_COMMITMENT
    await terminate(handle)
