"""Store-and-forward: a department without a webhook finds its pushes in the inbox, reads and acknowledges them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.gateway.delivery import GatewayActivities
from activities.gateway.inbox import InboxActivities
from activities.gateway.webhook_secrets import environment_secret
from activities.store.delivery import DeliveryAttemptRepository
from caseloop.cli import main
from schemas.delivery import DeliveryOutcome, InboxAcknowledgement, InboxQuery, Push, PushKind
from tests.gateway.conftest import a_push, add_department
from workers.settings import get_settings

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


@pytest.fixture
def cli_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def run_cli(*argv: str) -> int:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(main, list(argv))


async def test_the_inbox_command_lists_and_acknowledges(
    sessions: async_sessionmaker[AsyncSession], cli_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_department(sessions, DEPARTMENT)
    push = a_push(DEPARTMENT)
    await deliver(sessions, push)

    assert await run_cli("inbox", DEPARTMENT) == 0
    listing = capsys.readouterr().out
    assert f"inbox of {DEPARTMENT}: 1 unacknowledged" in listing and push.push_id in listing
    assert await run_cli("inbox", DEPARTMENT, "--json") == 0
    [item] = json.loads(capsys.readouterr().out)["items"]
    assert item["push_id"] == push.push_id

    assert await run_cli("inbox", "ack", str(item["item_id"]), "--by", "zhang.san") == 0
    assert f"acknowledged #{item['item_id']}" in capsys.readouterr().out
    assert await run_cli("inbox", "ack", str(item["item_id"])) == 0, "acknowledging again is harmless"
    assert "by zhang.san" in capsys.readouterr().out
    assert await run_cli("inbox", DEPARTMENT, "--json") == 0
    assert json.loads(capsys.readouterr().out)["items"] == []
    assert await run_cli("inbox", DEPARTMENT, "--all", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 1


async def test_the_inbox_command_refuses_bad_input_with_exit_codes(
    cli_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("inbox", "SQ-NOWHERE") == 3
    assert "'SQ-NOWHERE'" in capsys.readouterr().err
    assert await run_cli("inbox", "ack", "999") == 3
    assert await run_cli("inbox", "ack", "first") == 2
    assert "ID must be a positive item number" in capsys.readouterr().err
    assert await run_cli("inbox", "ack") == 2


async def test_the_inbox_command_says_when_the_store_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("CASELOOP_STORE_URL", f"postgresql+asyncpg://caseloop:hunter2@127.0.0.1:{closed_port}/store")
    get_settings.cache_clear()
    try:
        assert await run_cli("inbox", DEPARTMENT) == 4
    finally:
        get_settings.cache_clear()
    said = capsys.readouterr().err
    assert "cannot be reached" in said and "hunter2" not in said
