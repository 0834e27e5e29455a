"""The store (a real PostgreSQL server) stopped under running hand-offs, then started again: every command is
answered, every rung still fires, and the audit trail gets every transition once, in order, with no gap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest, DescribeWorkflowExecutionResponse
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.store.db import create_engine, create_session_factory
from activities.store.ledger.audit import AuditTrailRepository
from activities.store.ledger.cards import Card
from activities.store.ledger.handoffs import HandoffRecord
from activities.store.migrate import upgrade
from schemas.handoff import Claim, HandoffPolicy, HandoffStage, HandoffView, SlaColour
from schemas.ledger import AuditEntry
from schemas.rejections import ErrorType
from tests.handoff.conftest import DISTRICT_REGULATOR, HR_BUREAU, LABOUR_DISPATCH, MARKET_REGULATOR, Rig
from tests.handoff.scenario import act, claim, closed_approval, give_back, reroute, withdraw
from tests.handoff.test_loops import next_run_remembering
from tests.support.postgres import create_database
from tests.support.postgres_outage import StoppablePostgres, stoppable_postgres
from workflows.handoff.entity import HandoffWorkflow


@pytest.fixture(scope="module")
def postgres() -> Iterator[StoppablePostgres]:
    with stoppable_postgres() as server:
        yield server


@pytest.fixture
async def store(postgres: StoppablePostgres) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Overrides the hand-off fixtures' SQLite store: a fresh database on the server this test stops."""
    postgres.ensure_started()
    _name, url = await create_database(postgres.url.replace("+asyncpg", ""))
    await upgrade(url)
    # Pre-ping: the pool's connections die with the server, and a worker must not fail on a dead one.
    engine = create_engine(url, pool_pre_ping=True)
    yield create_session_factory(engine)
    await engine.dispose()


async def trail(rig: Rig, handoff_id: str) -> list[AuditEntry]:
    async with rig.sessions() as session:
        return list(await AuditTrailRepository(session).entries_for(handoff_id))


async def trail_with(rig: Rig, handoff_id: str, action: str) -> list[AuditEntry]:
    """The trail once `action` is in it; workflow time runs meanwhile, so the owed writes' retry comes."""
    for _ in range(60):
        entries = await trail(rig, handoff_id)
        if action in {entry.action for entry in entries}:
            return entries
        await rig.env.sleep(timedelta(minutes=1))
    raise AssertionError(f"{handoff_id} never recorded {action}: {[entry.action for entry in entries]}")


async def answered(rig: Rig, command: Awaitable[HandoffView]) -> HandoffView:
    """The command's answer, while workflow time runs: however long the store's retries last, they end."""
    sent = asyncio.ensure_future(command)
    for _ in range(600):
        if sent.done():
            return await sent
        await rig.env.sleep(timedelta(minutes=1))
    sent.cancel()
    raise AssertionError("the command was never answered")


async def described(rig: Rig, handoff_id: str) -> DescribeWorkflowExecutionResponse:
    # The raw description: the SDK's own cannot read the test server's datetime search attributes.
    request = DescribeWorkflowExecutionRequest(
        namespace=rig.client.namespace, execution=WorkflowExecution(workflow_id=handoff_id)
    )
    return await rig.client.workflow_service.describe_workflow_execution(request)


async def running(rig: Rig, handoff_id: str) -> bool:
    description = await described(rig, handoff_id)
    return description.workflow_execution_info.status == WorkflowExecutionStatus.RUNNING.value


async def texted(rig: Rig, handoff_id: str) -> None:
    """Waits until the SMS beside the push was sent, so the outage meets only what the test sends."""
    for _ in range(400):
        history = await rig.handle(handoff_id).fetch_history()
        sms = {
            event.event_id
            for event in history.events
            if event.activity_task_scheduled_event_attributes.activity_type.name == "send_sms"
        }
        if any(event.activity_task_completed_event_attributes.scheduled_event_id in sms for event in history.events):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{handoff_id} never sent its SMS")


async def completed(rig: Rig, handoff_id: str) -> None:
    """Lets workflow time run until the hand-off completes: its loop-closed notice, which failed during the outage,
    waits out its delivery backoff first."""
    for _ in range(120):
        if not await running(rig, handoff_id):
            final = await rig.handle(handoff_id).result()
            assert final.stage is HandoffStage.TERMINATED
            return
        await rig.env.sleep(timedelta(minutes=1))
    raise AssertionError(f"{handoff_id} never completed")


async def pushed_and_texted(rig: Rig) -> tuple[str, WorkflowHandle[Any, HandoffView]]:
    """A labour dispatch's hand-off, pushed, in the trail, its SMS sent: the outage meets only what the test sends."""
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.trail_until(handoff, "pushed")
    await texted(rig, handoff)
    return handoff, rig.handle(handoff)


def gapless(entries: list[AuditEntry]) -> list[str]:
    """The actions of a trail that holds every sequence number from 1, each once."""
    assert [entry.seq for entry in entries] == list(range(1, len(entries) + 1)), [e.seq for e in entries]
    return [entry.action for entry in entries]


async def test_commands_during_an_outage_are_answered_and_written_in_order_once_it_ends(
    rig: Rig, postgres: StoppablePostgres
) -> None:
    handoff, handle = await pushed_and_texted(rig)

    postgres.stop()
    try:
        claimed = await answered(rig, handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR), id="c1"))
        acting = await answered(rig, handle.execute_update(HandoffWorkflow.start_acting, act(MARKET_REGULATOR)))
        assert (claimed.stage, acting.stage) == (HandoffStage.CLAIMED, HandoffStage.ACTING)
        # Sent again (a caller that lost the answer): its first answer, nothing applied twice.
        again = await answered(rig, handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR), id="c1"))
        assert again == claimed
    finally:
        postgres.start()

    entries = await trail_with(rig, handoff, "acting")
    assert gapless(entries) == ["created", "pushed", "claimed", "acting"]
    async with rig.sessions() as session:
        record = await session.get(HandoffRecord, handoff)
    assert record is not None and (record.stage, record.version) == ("acting", 4), "the read model caught up"

    terminated = await handle.execute_update(HandoffWorkflow.terminate, withdraw())
    assert terminated.stage is HandoffStage.TERMINATED
    await completed(rig, handoff)
    assert gapless(await trail(rig, handoff)) == ["created", "pushed", "claimed", "acting", "terminated"]


async def test_a_command_during_an_outage_that_outlasts_the_run_is_written_before_it_completes(
    rig: Rig, postgres: StoppablePostgres
) -> None:
    handoff, handle = await pushed_and_texted(rig)

    postgres.stop()
    try:
        ended = await answered(rig, handle.execute_update(HandoffWorkflow.terminate, withdraw()))
        assert ended.stage is HandoffStage.TERMINATED
        await rig.env.sleep(timedelta(minutes=30))
        assert await running(rig, handoff), "it waits for the store to take its last transition"
    finally:
        postgres.start()

    await completed(rig, handoff)
    assert gapless(await trail(rig, handoff)) == ["created", "pushed", "terminated"]


async def test_rungs_that_fire_during_an_outage_are_recorded_and_their_clock_keeps_going(
    rig: Rig, postgres: StoppablePostgres
) -> None:
    handoff, handle = await pushed_and_texted(rig)
    await handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await rig.trail_until(handoff, "claimed")

    postgres.stop()
    try:
        # The feedback clock's reminder and yellow rungs fire while the store is down.
        for _ in range(200):
            if (await rig.view(handoff)).sla_colour is SlaColour.YELLOW:
                break
            await rig.env.sleep(timedelta(hours=1))
        else:
            raise AssertionError("the feedback clock never turned yellow")
    finally:
        postgres.start()

    # The same clock's red rung still fires after the outage: the card and the supervision order follow.
    view = await rig.view(handoff)
    await rig.skip_past(view.deadlines.feedback)
    await rig.until(handoff, lambda v: bool(v.supervision_orders))
    entries = await trail_with(rig, handoff, "supervision_order_issued")
    actions = gapless(entries)
    assert actions[:5] == ["created", "pushed", "claimed", "reminded", "sla_yellow"]
    assert {"red_card", "supervision_order_issued"} <= set(actions)
    async with rig.sessions() as session:
        cards = (await session.scalars(select(Card).where(Card.subject_id == handoff))).all()
    assert [card.level for card in cards] == ["red"]


async def refusal_type(handle: WorkflowHandle[Any, HandoffView], command: Claim, command_id: str) -> str:
    """The error type the hand-off refuses `command` with (its validator's: nothing reaches the history)."""
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(HandoffWorkflow.claim, command, id=command_id)
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    return str(cause.type)


async def test_a_handoff_refuses_commands_with_continuing_while_it_continues_as_new(
    rig: Rig, postgres: StoppablePostgres
) -> None:
    # A short history, and a reroute whose registry lookup waits out the outage: the history reaches its limit
    # while the reroute's handler still runs, so the run must finish it before it continues as new.
    handle = await next_run_remembering(rig, "continuing", HandoffPolicy(max_history_events=60))
    returned = await handle.execute_update(HandoffWorkflow.return_push, give_back(MARKET_REGULATOR))
    assert returned.stage is HandoffStage.RETURNED
    described_now = (await described(rig, handle.id)).workflow_execution_info
    assert described_now.history_length < 40, "room for the reroute to begin in this run"
    run = described_now.execution.run_id
    not_the_receiver = claim(HR_BUREAU)
    assert await refusal_type(handle, not_the_receiver, "probe-0") == ErrorType.REJECTED

    postgres.stop()
    try:
        rerouting = asyncio.ensure_future(handle.execute_update(HandoffWorkflow.reroute, reroute(DISTRICT_REGULATOR)))
        for attempt in range(200):
            await rig.env.sleep(timedelta(minutes=5))
            if await refusal_type(handle, not_the_receiver, f"probe-{attempt + 1}") == ErrorType.CONTINUING:
                break
        else:
            raise AssertionError("the hand-off never began to continue as new")
        # A command it would take is refused as well, untouched: the engine sends it again to the next run.
        assert await refusal_type(handle, claim(MARKET_REGULATOR), "claim-while-continuing") == ErrorType.CONTINUING
        assert not rerouting.done() and (await handle.query(HandoffWorkflow.view)).stage is HandoffStage.RETURNED
    finally:
        postgres.start()

    rerouted = await answered(rig, rerouting)
    assert (rerouted.stage, rerouted.receiver_code) == (HandoffStage.REROUTED, DISTRICT_REGULATOR)
    for _ in range(120):
        if (await described(rig, handle.id)).workflow_execution_info.execution.run_id != run:
            break
        await rig.env.sleep(timedelta(minutes=1))
    else:
        raise AssertionError("the hand-off never continued as new")
    # The next run takes commands again: the refused id was never applied, so its own rules answer it now.
    assert await refusal_type(handle, claim(MARKET_REGULATOR), "claim-while-continuing") == ErrorType.REJECTED
