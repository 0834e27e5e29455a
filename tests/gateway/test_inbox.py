"""Store-and-forward: a department without a webhook finds its pushes in the inbox, reads and acknowledges them."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.gateway.delivery import GatewayActivities
from activities.gateway.inbox import InboxActivities
from activities.gateway.webhook_secrets import environment_secret
from activities.store.delivery import DeliveryAttemptRepository
from schemas.delivery import DeliveryOutcome, InboxAcknowledgement, InboxQuery, Push, PushKind
from tests.gateway.conftest import a_push, add_department

DEPARTMENT = "SQ-SUCHENG"  # a district without a system of its own


async def deliver(sessions: async_sessionmaker[AsyncSession], push: Push, attempt: int = 1) -> DeliveryOutcome:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    async with httpx.AsyncClient() as http:
        result = await env.run(GatewayActivities(sessions, http, environment_secret).deliver_push, push)
    assert result.attempts == attempt
    assert result.status_code is None
    return result.outcome


async def test_a_push_lands_in_the_inbox_once_however_often_it_is_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_department(sessions, DEPARTMENT)
    push = a_push(DEPARTMENT)

    assert await deliver(sessions, push) is DeliveryOutcome.INBOXED
    assert await deliver(sessions, push, attempt=2) is DeliveryOutcome.INBOXED

    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code=DEPARTMENT))
    assert page.unacknowledged == 1
    [item] = page.items
    assert (item.push_id, item.kind, item.subject_id, item.body) == (
        push.push_id,
        push.kind,
        push.subject_id,
        push.body,
    )
    assert item.issued_at == push.issued_at
    assert item.received_at.tzinfo is not None
    assert item.acknowledged_at is None
    async with sessions() as session:
        attempts = await DeliveryAttemptRepository(session).for_push(push.push_id)
    assert [(a.attempt, a.channel, a.outcome) for a in attempts] == [(1, "inbox", "inboxed"), (2, "inbox", "inboxed")]


async def test_read_shows_unacknowledged_oldest_first_and_acknowledging_twice_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_department(sessions, DEPARTMENT)
    await add_department(sessions, "SQ-SUYU")
    first, second, third = (a_push(DEPARTMENT, kind) for kind in (PushKind.CARD, PushKind.REMINDER, PushKind.CIRCULAR))
    for push in (first, second, third, a_push("SQ-SUYU")):
        await deliver(sessions, push)
    inbox = InboxActivities(sessions)
    everything = await inbox.read_inbox(InboxQuery(department_code=DEPARTMENT))
    assert [i.push_id for i in everything.items] == [first.push_id, second.push_id, third.push_id]
    oldest = everything.items[0]

    acknowledged = await inbox.acknowledge_inbox_item(
        InboxAcknowledgement(item_id=oldest.item_id, acknowledged_by="wang.wu")
    )
    again = await inbox.acknowledge_inbox_item(InboxAcknowledgement(item_id=oldest.item_id, acknowledged_by="later"))

    assert acknowledged.acknowledged_at is not None and acknowledged.acknowledged_by == "wang.wu"
    assert (again.acknowledged_at, again.acknowledged_by) == (acknowledged.acknowledged_at, "wang.wu")
    waiting = await inbox.read_inbox(InboxQuery(department_code=DEPARTMENT))
    assert [i.push_id for i in waiting.items] == [second.push_id, third.push_id]
    assert waiting.unacknowledged == 2
    with_history = await inbox.read_inbox(InboxQuery(department_code=DEPARTMENT, include_acknowledged=True))
    assert [i.push_id for i in with_history.items] == [second.push_id, third.push_id, first.push_id]
    limited = await inbox.read_inbox(InboxQuery(department_code=DEPARTMENT, limit=1))
    assert ([i.push_id for i in limited.items], limited.unacknowledged) == ([second.push_id], 2)


async def test_unknown_departments_and_items_are_not_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    inbox = InboxActivities(sessions)

    with pytest.raises(ApplicationError) as unknown_department:
        await inbox.read_inbox(InboxQuery(department_code="SQ-NOWHERE"))
    with pytest.raises(ApplicationError) as unknown_item:
        await inbox.acknowledge_inbox_item(InboxAcknowledgement(item_id=999, acknowledged_by="cli"))

    assert unknown_department.value.type == "NotFound" and "'SQ-NOWHERE'" in unknown_department.value.message
    assert unknown_item.value.type == "NotFound" and "999" in unknown_item.value.message


async def test_pushes_arriving_together_go_to_the_inbox_in_one_write(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """At the 17:30 instant every red card's push to a department without a webhook arrives at once: they share a
    transaction instead of each taking the store's write lock in turn, and each still has its attempt."""
    await add_department(sessions, DEPARTMENT)
    pushes = [a_push(DEPARTMENT) for _ in range(8)]
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INBOX"):
            inserts.append(statement)

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with httpx.AsyncClient() as http:
            gateway = GatewayActivities(sessions, http, environment_secret)
            outcomes = await asyncio.gather(*(ActivityEnvironment().run(gateway.deliver_push, p) for p in pushes))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert {outcome.outcome for outcome in outcomes} == {DeliveryOutcome.INBOXED}
    assert len(inserts) < len(pushes)
    page = await InboxActivities(sessions).read_inbox(InboxQuery(department_code=DEPARTMENT))
    assert sorted(item.push_id for item in page.items) == sorted(push.push_id for push in pushes)
    async with sessions() as session:
        for push in pushes:
            attempts = await DeliveryAttemptRepository(session).for_push(push.push_id)
            assert [(a.channel, a.outcome) for a in attempts] == [("inbox", "inboxed")]
