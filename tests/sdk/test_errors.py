"""The SDK's typed errors over the door: rejections with rule and field, identity refused, not found, unreachable,
timeouts, and a command retried after a timeout applied once."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from caseloop import CaseClient, CaseHandle, CommandTimeout, Forbidden, InputRejected, NotFound, Unreachable
from caseloop.errors import EXIT_FORBIDDEN, EXIT_NOT_FOUND, EXIT_REJECTED, EXIT_TIMEOUT, EXIT_UNREACHABLE
from schemas.case.stages import CaseStage
from tests.sdk.conftest import Connect
from tests.sdk.world import DEVELOPMENT_REFORM, World, add_launchable_matter, case_number, running_door
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG, eventually, running_worker


async def launched(client: CaseClient, connect: Connect, matter: str) -> CaseHandle:
    case = await client.launch(case_number=case_number(), matter_code=matter, locality_code=SUCHENG, title="pipeline")
    await (await connect(BUSINESS_OFFICE)).case_by_id(case.case_id).accept(actor="coordinator")
    return case


async def test_a_rule_rejects_with_its_rule_and_field_and_changes_nothing(
    client: CaseClient, connect: Connect, matter: str
) -> None:
    case = await launched(client, connect, matter)
    lead = (await connect(HOUSING)).case_by_id(case.case_id, actor="lead")
    before = (await case.state()).seq

    with pytest.raises(InputRejected) as rejected:
        await lead.request_return(reason="the pipeline is the water bureau's")
    assert (rejected.value.rule, rejected.value.field) == ("return.legal-basis", "legal_basis")
    assert rejected.value.exit_code == EXIT_REJECTED
    assert case.case_id in str(rejected.value)

    with pytest.raises(InputRejected) as missing:
        await lead.commit(plan="no limit given")
    assert (missing.value.rule, missing.value.field) == ("missing", "limit")

    with pytest.raises(InputRejected) as bad_limit:
        await lead.commit(limit="fifteen days", plan="a plan")
    assert bad_limit.value.field == "limit.amount"

    with pytest.raises(InputRejected) as bad_actor:
        await lead.sign(actor="boss")
    assert (bad_actor.value.rule, bad_actor.value.field) == ("actor.format", "actor")

    with pytest.raises(InputRejected) as bad_filter:
        await client.list(stage="half-done")
    assert bad_filter.value.field == "stage"
    with pytest.raises(InputRejected) as injected:
        await client.count(matter='x" OR CaseloopKind != "case')
    assert injected.value.field == "matter"

    assert (await case.state()).seq == before


async def test_a_department_acts_only_in_the_roles_it_holds(client: CaseClient, connect: Connect, matter: str) -> None:
    """The locality's key cannot sign as the lead, nor the lead's act as the coordinator; nothing changes."""
    case = await launched(client, connect, matter)
    before = (await case.state()).seq
    locality = (await connect(SUCHENG)).case_by_id(case.case_id)
    for actor in ("lead", f"lead:{HOUSING}"):
        with pytest.raises(Forbidden) as refused:
            await locality.sign(actor=actor)
        assert refused.value.exit_code == EXIT_FORBIDDEN
    with pytest.raises(Forbidden):
        await (await connect(HOUSING)).case_by_id(case.case_id).sign(actor="coordinator", department=HOUSING)
    with pytest.raises(Forbidden):
        await client.launch(case_number="x", matter_code=matter, locality_code=SUCHENG, title="t", on_behalf_of=HOUSING,
                            on_behalf_reason="a department is no operator")  # fmt: skip
    assert (await case.state()).seq == before


async def test_a_missing_case_and_a_finished_one(client: CaseClient, connect: Connect, matter: str) -> None:
    missing = client.case("never-registered")
    with pytest.raises(NotFound) as not_found:
        await missing.state()
    assert not_found.value.exit_code == EXIT_NOT_FOUND and missing.case_id in str(not_found.value)
    with pytest.raises(NotFound):
        await missing.accept(actor="coordinator")

    case = await launched(client, connect, matter)
    coordinator = (await connect(BUSINESS_OFFICE)).case_by_id(case.case_id, actor="coordinator")
    ended = await coordinator.terminate(reason="withdrawn by the enterprise")
    assert ended.stage is CaseStage.TERMINATED
    # The case completes once its pushes are out.
    finished = await eventually(lambda: client.list(matter=matter, running=False), lambda found: len(found) == 1)
    assert [summary.case_id for summary in finished] == [case.case_id]
    with pytest.raises(InputRejected) as too_late:
        await coordinator.comment(text="too late")
    assert too_late.value.rule == "workflow.finished"
    assert (await case.state()).stage is CaseStage.TERMINATED, "a finished case still answers its state"


async def test_an_unreachable_door_names_its_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(Unreachable) as unreachable:
        await CaseClient.connect(url, "clk_aaaaaaaaaaaa_" + "x" * 43)
    assert url in str(unreachable.value) and unreachable.value.exit_code == EXIT_UNREACHABLE


async def test_a_refused_key_is_forbidden(door: World) -> None:
    with pytest.raises(Forbidden) as refused:
        await CaseClient.connect(door.url, "clk_aaaaaaaaaaaa_" + "x" * 43)
    assert refused.value.exit_code == EXIT_FORBIDDEN


async def test_the_same_command_id_is_applied_once(client: CaseClient, connect: Connect, matter: str) -> None:
    case = await launched(client, connect, matter)
    coordinator = (await connect(BUSINESS_OFFICE)).case_by_id(case.case_id, actor="coordinator")
    first = await coordinator.comment(text="site visit on Monday", command_id="centre-note-1")
    again = await coordinator.comment(text="site visit on Monday", command_id="centre-note-1")
    assert first == again and first.update_id == f"{BUSINESS_OFFICE}/centre-note-1", "the door keys it by department"
    comments = [entry for entry in (await case.timeline()).entries if entry.action == "commented"]
    assert len(comments) == 1
    with pytest.raises(InputRejected) as reused:
        await coordinator.comment(text="another text", command_id="centre-note-1")
    assert "centre-note-1" in str(reused.value) or reused.value.rule is not None
    with pytest.raises(InputRejected) as bad_id:
        await coordinator.comment(text="x", command_id="has spaces")
    assert bad_id.value.field == "command_id"


async def test_a_command_retried_after_a_timeout_is_applied_once(
    dev_env: WorkflowEnvironment, store: str, door: World, tmp_path: Path
) -> None:
    """The worker stops while a signature is in flight: the client times out; once a worker is back, the same
    command id is sent again (the door answers 409 while its first attempt waits; the SDK asks again) and the case
    records one signature."""
    queue = f"sdk-timeout-{uuid.uuid4()}"
    async with running_door(dev_env, store, queue, door.settings.data_dir, door.sessions, keys=door.keys) as world:
        initiator = await world.connect(DEVELOPMENT_REFORM)
        coordinator = await world.connect(BUSINESS_OFFICE)
        housing = await world.connect(HOUSING)
        async with running_worker(dev_env, store, queue) as resources:
            matter = await add_launchable_matter(resources.sessions, tmp_path)
            case = await initiator.launch(
                case_number=case_number("t"), matter_code=matter, locality_code=SUCHENG, title="t"
            )
            await coordinator.case_by_id(case.case_id).accept(actor="coordinator")

        lead = housing.case_by_id(case.case_id, actor="lead")
        with pytest.raises(CommandTimeout) as timed_out:
            await lead.sign(within=1)
        command_id = timed_out.value.command_id
        assert command_id is not None and command_id in str(timed_out.value)
        assert timed_out.value.exit_code == EXIT_TIMEOUT

        async with running_worker(dev_env, store, queue):
            retried = await lead.sign(command_id=command_id)
            repeated = await lead.sign(command_id=command_id)
            assert retried == repeated and retried.update_id == f"{HOUSING}/{command_id}"
            signatures = [entry for entry in (await case.timeline()).entries if entry.action == "signed"]
            assert [entry.actor.department for entry in signatures] == [HOUSING]
            assert (await case.state()).seq == retried.seq
            await coordinator.case_by_id(case.case_id).terminate(actor="coordinator", reason="the test ends here")
        for client in (initiator, coordinator, housing):
            await client.close()
