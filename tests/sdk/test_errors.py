"""The SDK's typed errors: rejections with rule and field, not found, unreachable, timeouts, and a command retried
after a timeout applied once."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop import CaseClient, CaseHandle, CommandTimeout, InputRejected, NotFound, Unreachable
from caseloop.errors import EXIT_NOT_FOUND, EXIT_REJECTED, EXIT_TIMEOUT, EXIT_UNREACHABLE
from schemas.case.stages import CaseStage
from tests.support.department_world import (
    BUSINESS_OFFICE,
    HOUSING,
    SUCHENG,
    add_case_matter,
    running_worker,
    target_of,
)
from workers.settings import Settings

coordinator = f"coordinator:{BUSINESS_OFFICE}"
lead = f"lead:{HOUSING}"
locality = f"locality:{SUCHENG}"


async def launched(client: CaseClient, matter: str, number: str = "2026-0100") -> CaseHandle:
    case = await client.launch(
        case_number=number, matter_code=matter, locality_code=SUCHENG, title="pipeline", coordinator=BUSINESS_OFFICE
    )
    await case.accept(actor=coordinator)
    return case


async def test_a_rule_rejects_with_its_rule_and_field_and_changes_nothing(client: CaseClient, matter: str) -> None:
    case = await launched(client, matter)
    before = (await case.state()).seq

    with pytest.raises(InputRejected) as rejected:
        await case.request_return(actor=lead, reason="the pipeline is the water bureau's")
    assert (rejected.value.rule, rejected.value.field) == ("return.legal-basis", "legal_basis")
    assert rejected.value.exit_code == EXIT_REJECTED
    assert case.case_id in str(rejected.value)

    with pytest.raises(InputRejected) as wrong_actor:
        await case.sign(actor=f"coordinator:{HOUSING}", department=HOUSING)
    assert (wrong_actor.value.rule, wrong_actor.value.field) == ("actor.department", "actor.department")

    with pytest.raises(InputRejected) as missing:
        await case.commit(actor=lead, plan="no limit given")
    assert (missing.value.rule, missing.value.field) == ("missing", "limit")

    with pytest.raises(InputRejected) as bad_limit:
        await case.commit(actor=lead, limit="fifteen days", plan="a plan")
    assert bad_limit.value.field == "limit.amount"

    with pytest.raises(InputRejected) as bad_actor:
        await case.sign(actor="boss")
    assert (bad_actor.value.rule, bad_actor.value.field) == ("actor.format", "actor")

    with pytest.raises(InputRejected) as bad_filter:
        await client.list(stage="half-done")
    assert (bad_filter.value.rule, bad_filter.value.field) == ("filter.unknown-value", "stage")
    with pytest.raises(InputRejected) as injected:
        await client.count(matter='x" OR CaseloopKind != "case')
    assert injected.value.field == "matter"

    assert (await case.state()).seq == before


async def test_a_missing_case_and_a_finished_one(client: CaseClient, matter: str) -> None:
    missing = client.case("never-registered")
    with pytest.raises(NotFound) as not_found:
        await missing.state()
    assert not_found.value.exit_code == EXIT_NOT_FOUND and missing.case_id in str(not_found.value)
    with pytest.raises(NotFound):
        await missing.accept(actor=coordinator)

    case = await launched(client, matter, "2026-0101")
    ended = await case.terminate(actor=coordinator, reason="withdrawn by the enterprise")
    assert ended.stage is CaseStage.TERMINATED
    await case.workflow.result()  # the case completes once its pushes are out
    with pytest.raises(InputRejected) as finished:
        await case.comment(actor=coordinator, text="too late")
    assert finished.value.rule == "workflow.finished"
    assert (await case.state()).stage is CaseStage.TERMINATED, "a finished case still answers its state"


async def test_an_unreachable_server_names_its_target() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = f"127.0.0.1:{port}"
    with pytest.raises(Unreachable) as unreachable:
        await CaseClient.connect(Settings(_env_file=None), target=target)  # type: ignore[call-arg]
    assert target in str(unreachable.value) and unreachable.value.exit_code == EXIT_UNREACHABLE


async def test_the_same_command_id_is_applied_once(client: CaseClient, matter: str) -> None:
    case = await launched(client, matter, "2026-0102")
    first = await case.comment(actor=coordinator, text="site visit on Monday", command_id="centre-note-1")
    again = await case.comment(actor=coordinator, text="site visit on Monday", command_id="centre-note-1")
    assert first == again and first.update_id == "centre-note-1"
    comments = [entry for entry in (await case.timeline()).entries if entry.action == "commented"]
    assert len(comments) == 1
    with pytest.raises(InputRejected) as bad_id:
        await case.comment(actor=coordinator, text="x", command_id="has spaces")
    assert bad_id.value.field == "command_id"


async def test_a_command_retried_after_a_timeout_is_applied_once(
    dev_env: WorkflowEnvironment, store: str, tmp_path: Path
) -> None:
    """The worker stops while a signature is in flight: the client times out; once a worker is back, the same
    command id is sent again and the case records one signature."""
    queue = f"sdk-timeout-{uuid.uuid4()}"
    client = await CaseClient.connect(
        Settings(_env_file=None),  # type: ignore[call-arg]
        target=target_of(dev_env),
        task_queue=queue,
        store_url=store,
        system="timeout-test",
        within=30,
    )
    async with running_worker(dev_env, store, queue) as resources:
        matter = await add_case_matter(resources.sessions, tmp_path)
        case = await launched(client, matter, f"t-{uuid.uuid4().hex[:8]}")

    with pytest.raises(CommandTimeout) as timed_out:
        await case.sign(actor=lead, within=1)
    command_id = timed_out.value.command_id
    assert command_id is not None and command_id in str(timed_out.value)
    assert timed_out.value.exit_code == EXIT_TIMEOUT

    async with running_worker(dev_env, store, queue):
        retried = await case.sign(actor=lead, command_id=command_id)
        repeated = await case.sign(actor=lead, command_id=command_id)
        assert retried == repeated and retried.update_id == command_id
        signatures = [entry for entry in (await case.timeline()).entries if entry.action == "signed"]
        assert [entry.actor.department for entry in signatures] == [HOUSING]
        assert (await case.state()).seq == retried.seq
        await case.terminate(actor=coordinator, reason="the test ends here")
    await client.close()
