"""The store-and-forward inbox through the SDK: the gateway's own `InboxActivities`, called on the store directly.

Departments without a webhook read their pushes here and acknowledge what they took. The store is the one the
workers write to (`store_url` of the settings); the engine opens at the first call and closes with the client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from activities.gateway.inbox import NOT_FOUND, InboxActivities
from activities.store.db import create_engine, create_session_factory
from caseloop.direct.failures import invalid
from caseloop.errors import CommandError, NotFound
from caseloop.store import store_errors
from schemas.delivery import InboxAcknowledgement, InboxItem, InboxPage, InboxQuery

T = TypeVar("T")


class Inbox:
    def __init__(self, store_url: str) -> None:
        self._url = store_url
        self._engine: AsyncEngine | None = None
        self._activities: InboxActivities | None = None

    async def read(self, department: str, *, include_acknowledged: bool = False, limit: int = 100) -> InboxPage:
        try:
            query = InboxQuery(department_code=department, include_acknowledged=include_acknowledged, limit=limit)
        except ValidationError as error:
            raise invalid(error) from None
        return await self._run(lambda inbox: inbox.read_inbox(query))

    async def acknowledge(self, item_id: int, *, by: str) -> InboxItem:
        try:
            acknowledgement = InboxAcknowledgement(item_id=item_id, acknowledged_by=by)
        except ValidationError as error:
            raise invalid(error) from None
        return await self._run(lambda inbox: inbox.acknowledge_inbox_item(acknowledgement))

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._activities = None

    async def _run(self, call: Callable[[InboxActivities], Awaitable[T]]) -> T:
        if self._activities is None:
            self._engine = create_engine(self._url)
            self._activities = InboxActivities(create_session_factory(self._engine))
        with store_errors(self._url):
            try:
                return await call(self._activities)
            except ApplicationError as error:
                if error.type == NOT_FOUND:
                    raise NotFound(error.message) from None
                raise CommandError(error.message) from None
