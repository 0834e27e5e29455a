"""Limits through Temporal: an absurd limit is refused by rule before it is recorded, and a limit the legal clock
still refuses (one the registry set: M-ABSURD in tests/case/registry.yaml) comes back as a rejection naming rule
and field, never a failed command."""

from __future__ import annotations

from decimal import Decimal

from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.case.stages import CaseStage
from schemas.clock import ClockUnit
from schemas.registry import Limit
from tests.case.driver import Driver, coordinator, lead, locality
from tests.case.scenarios import terminate
from tests.case.test_commands import accepted_updates, rejected
from workflows.case.workflow import CaseWorkflow


async def test_an_absurd_commitment_is_refused_before_anything_is_recorded(case_worker: Worker, driver: Driver) -> None:
    handle = await driver.start(matter_code="M-OPEN")
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=locality))
    updates = await accepted_updates(handle)
    absurd = Limit(amount=Decimal(99999), unit=ClockUnit.WORKING_DAYS)
    rule, field, message = await rejected(
        handle, CaseWorkflow.commit, c.FileCommitment(actor=lead, limit=absurd, plan="someday")
    )
    assert (rule, field) == ("limit.max", "limit")
    assert "exceeds the longest limit a case accepts (3650 working-days)" in message
    assert await accepted_updates(handle) == updates  # refused by the validator: not in the history
    view = await driver.view(handle)
    assert view.commitment is None and view.stage is CaseStage.AWAITING_COMMITMENT
    await terminate(handle)


async def test_a_limit_the_clock_refuses_is_a_rejection_naming_rule_and_field(
    case_worker: Worker, driver: Driver
) -> None:
    handle = await driver.start(matter_code="M-ABSURD")
    await handle.execute_update(CaseWorkflow.accept, c.AcceptCase(actor=coordinator))
    await handle.execute_update(CaseWorkflow.sign, c.SignAssignment(actor=lead))
    seq = (await driver.view(handle)).seq
    # The last signature starts the commitment clock on the registry's limit: the clock refuses to count it.
    rule, field, message = await rejected(handle, CaseWorkflow.sign, c.SignAssignment(actor=locality))
    assert (rule, field) == ("clock.refused", None)
    assert "50 years" in message
    view = await driver.view(handle)
    assert view.seq == seq and view.stage is CaseStage.LAUNCHED  # nothing changed
    # The case is not jammed: the coordinator ends it as usual.
    await terminate(handle)
    assert (await handle.result()).stage is CaseStage.TERMINATED
