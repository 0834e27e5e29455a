"""`caseloop inbox DEPT [--json] [--all]` and `caseloop inbox ack ID`: a department's store-and-forward inbox."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.gateway.inbox import InboxActivities
from caseloop.errors import InputRejected, NotFound
from caseloop.store import open_store
from schemas.delivery import InboxAcknowledgement, InboxItem, InboxPage, InboxQuery

ACK = "ack"
T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    inbox = subparsers.add_parser(
        "inbox",
        help="read or acknowledge the pushes waiting for a department without a webhook",
        usage="caseloop inbox DEPT [--json] [--all]\n       caseloop inbox ack ID [--by WHO] [--json]",
        description="Pushes to departments without a webhook wait here, oldest first, until acknowledged.",
    )
    inbox.add_argument("target", metavar="DEPT|ack", help="a department code, or `ack` to acknowledge an item")
    inbox.add_argument("item_id", metavar="ID", nargs="?", help="with `ack`: the item number shown by the listing")
    inbox.add_argument("--all", action="store_true", help="include acknowledged items")
    inbox.add_argument("--limit", type=int, default=100, help="at most this many items (default 100)")
    inbox.add_argument("--by", metavar="WHO", default="cli", help="with `ack`: who acknowledges (default: cli)")
    inbox.add_argument("--json", action="store_true", help="print JSON for scripts")
    inbox.set_defaults(handler=_inbox)


async def _inbox(args: argparse.Namespace) -> int:
    if args.target == ACK:
        acknowledgement = _acknowledgement(args)
        item = await _run(lambda inbox: inbox.acknowledge_inbox_item(acknowledgement))
        print(item.model_dump_json(indent=2) if args.json else f"acknowledged {_line(item)}")
        return 0
    if args.item_id is not None:
        raise InputRejected(
            f"unexpected argument {args.item_id!r}: only `caseloop inbox ack ID` takes an ID", field="ID"
        )
    try:
        query = InboxQuery(department_code=args.target, include_acknowledged=args.all, limit=args.limit)
    except ValidationError as error:
        raise _rejected(error) from error
    page = await _run(lambda inbox: inbox.read_inbox(query))
    print(page.model_dump_json(indent=2) if args.json else _listing(page))
    return 0


def _acknowledgement(args: argparse.Namespace) -> InboxAcknowledgement:
    if args.item_id is None:
        raise InputRejected("ID: `caseloop inbox ack` needs the number of the item to acknowledge", field="ID")
    if not args.item_id.isdigit() or int(args.item_id) < 1:
        raise InputRejected(
            f"ID must be a positive item number, not {args.item_id!r}", rule="positive_item_number", field="ID"
        )
    try:
        return InboxAcknowledgement(item_id=int(args.item_id), acknowledged_by=args.by)
    except ValidationError as error:
        raise _rejected(error) from error


def _rejected(error: ValidationError) -> InputRejected:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    return InputRejected(f"{field}: {first['msg']}", rule=first["type"], field=field)


async def _run(call: Callable[[InboxActivities], Awaitable[T]]) -> T:
    async with open_store() as sessions:
        try:
            return await call(InboxActivities(sessions))
        except ApplicationError as error:
            if error.type == "NotFound":
                raise NotFound(error.message) from error
            raise


def _line(item: InboxItem) -> str:
    state = "new"
    if item.acknowledged_at is not None:
        state = f"acknowledged {item.acknowledged_at:%Y-%m-%d %H:%M}Z by {item.acknowledged_by}"
    received = f"{item.received_at:%Y-%m-%d %H:%M}Z"
    return f"#{item.item_id}  {received}  {item.kind}  {item.subject_id}  [{state}]  push {item.push_id}"


def _listing(page: InboxPage) -> str:
    header = f"inbox of {page.department_code}: {page.unacknowledged} unacknowledged"
    if not page.items:
        return header
    lines = [header]
    for item in page.items:
        lines.append(_line(item))
        lines.append("    " + json.dumps(item.body, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines)
