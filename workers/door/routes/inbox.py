"""The calling department's inbox: the pushes waiting for it, and acknowledging what it took. Always its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from temporalio.exceptions import ApplicationError

from activities.gateway.inbox import InboxActivities
from activities.metrics import count_inbox_call
from activities.store.delivery import InboxRepository
from schemas.api import AcknowledgeRequest
from schemas.delivery import InboxAcknowledgement, InboxItem, InboxPage, InboxQuery
from workers.door.deps import CallerDep, DoorDep
from workers.door.problems import not_found

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


@router.get("", response_model=InboxPage, summary="Read the caller's inbox")
async def read_inbox(
    parts: DoorDep,
    caller: CallerDep,
    include_acknowledged: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> InboxPage:
    """The pushes waiting for the caller's department, oldest first; acknowledged ones too when asked."""
    query = InboxQuery(department_code=caller.department, include_acknowledged=include_acknowledged, limit=limit)
    await count_inbox_call(parts.sessions, caller.department, "read")
    try:
        return await InboxActivities(parts.sessions).read_inbox(query)
    except ApplicationError:
        raise not_found(f"the inbox of {caller.department}") from None


@router.post("/{item_id}/ack", response_model=InboxItem, summary="Acknowledge an inbox item")
async def acknowledge(
    parts: DoorDep,
    caller: CallerDep,
    item_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: AcknowledgeRequest,
) -> InboxItem:
    """Marks an item of the caller's inbox as taken; acknowledging again answers the first acknowledgement."""
    async with parts.sessions() as session:
        entry = await InboxRepository(session).get(item_id)
    if entry is None or entry.department_code != caller.department:
        raise not_found(f"inbox item {item_id}")
    await count_inbox_call(parts.sessions, caller.department, "acknowledge")
    try:
        return await InboxActivities(parts.sessions).acknowledge_inbox_item(
            InboxAcknowledgement(item_id=item_id, acknowledged_by=body.by)
        )
    except ApplicationError:
        raise not_found(f"inbox item {item_id}") from None
