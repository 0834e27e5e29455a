"""The audit trail names the credential that sent each command, and an operator's reason for acting on behalf."""

from __future__ import annotations

from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.case.stages import Role
from tests.case.driver import Driver, locality
from tests.case.parties import COORDINATOR, LEAD, SUPERVISOR, SYSTEM_CODE
from tests.case.scenarios import terminate
from workflows.case.workflow import CaseWorkflow


async def test_audit_rows_carry_the_credential_and_the_reason_for_acting_on_behalf(
    case_worker: Worker, driver: Driver
) -> None:
    launcher = c.Actor(department=SYSTEM_CODE, role=Role.INITIATOR, credential="key:sys")
    handle = await driver.start(launched_by=launcher)
    coordinator = c.Actor(department=COORDINATOR, role=Role.COORDINATOR, credential="key:abc", on_behalf_reason=None)
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    operator = c.Actor(
        department=LEAD, role=Role.LEAD, credential="jwt:sso.example:ops-7", on_behalf_reason="their system is down"
    )
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=operator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    supervisor = c.Actor(department=SUPERVISOR, role=Role.SUPERVISOR, credential="key:sup")
    order = c.IssueSupervisionOrder(actor=supervisor, department=LEAD, content="report by Friday", reason="slow")
    issued = await handle.execute_update(CaseWorkflow.issue_supervision_order, order)

    rows = {(row.action, row.actor_id): row for row in await driver.audit(handle.id)}
    assert (rows["accepted", COORDINATOR].credential_id, rows["accepted", COORDINATOR].on_behalf_reason) == (
        "key:abc",
        None,
    )
    signed = rows["signed", LEAD]
    assert (signed.credential_id, signed.on_behalf_reason) == ("jwt:sso.example:ops-7", "their system is down")
    assert rows["signed", locality.department].credential_id is None  # sent without the door
    assert rows["registered", SYSTEM_CODE].credential_id == "key:sys"  # the launch, as the door authenticated it
    assert rows["launched", "caseloop"].credential_id is None  # the system's own rows name no credential
    assert rows["order_issued", SUPERVISOR].credential_id == "key:sup"
    [order_row] = await driver.audit(f"{handle.id}.{issued.subject_id}")
    assert (order_row.action, order_row.credential_id) == ("issued", "key:sup")
    # The timeline keeps the actor whole, so a party reading it sees which credential acted.
    timeline = {entry.action: entry for entry in (await driver.timeline(handle)).entries}
    assert timeline["accepted"].actor.credential == "key:abc"
    await terminate(handle)
