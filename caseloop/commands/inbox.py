"""`caseloop inbox [--json] [--all]` and `caseloop inbox ack ID`: the credential's department's store-and-forward
inbox, through the caseloop API (`--as-department DEPT` reads the embedded stack's development key for DEPT)."""

from __future__ import annotations

import argparse
import json

from caseloop.commands.bounds import listed, within
from caseloop.commands.forms import add_door_flags, connect
from caseloop.errors import Forbidden, InputRejected
from schemas.delivery import InboxItem, InboxPage

ACK = "ack"


def register(subparsers: argparse._SubParsersAction) -> None:
    inbox = subparsers.add_parser(
        "inbox",
        help="read or acknowledge the pushes waiting for the department, when it has no webhook",
        usage="caseloop inbox [DEPT] [--json] [--all]\n       caseloop inbox ack ID [--by WHO] [--json]",
        description="Pushes to departments without a webhook wait here, oldest first, until acknowledged. A "
        "department reads only its own inbox: the credential's.",
    )
    inbox.add_argument(
        "target", metavar="DEPT|ack", nargs="?", help="the credential's department (optional), or `ack` to acknowledge"
    )
    inbox.add_argument("item_id", metavar="ID", nargs="?", help="with `ack`: the item number shown by the listing")
    inbox.add_argument("--all", action="store_true", help="include acknowledged items")
    inbox.add_argument("--limit", type=listed, default=100, help="at most this many items, 1 to 1000 (default 100)")
    inbox.add_argument("--by", metavar="WHO", default="cli", help="with `ack`: who acknowledges (default: cli)")
    inbox.add_argument("--within", type=within, default=60.0, metavar="SECONDS", help="wait this long (default 60)")
    inbox.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_door_flags(inbox)
    inbox.set_defaults(handler=_inbox)


async def _inbox(args: argparse.Namespace) -> int:
    if args.target == ACK:
        item_id = _item_id(args)
        async with await connect(args) as client:
            item = await client.acknowledge_inbox_item(item_id, by=args.by)
        print(item.model_dump_json(indent=2) if args.json else f"acknowledged {_line(item)}")
        return 0
    if args.item_id is not None:
        raise InputRejected(
            f"unexpected argument {args.item_id!r}: only `caseloop inbox ack ID` takes an ID", field="ID"
        )
    async with await connect(args) as client:
        if args.target is not None and args.target != client.department:
            raise Forbidden(f"DEPT: the inbox of {args.target} is its own; this credential is {client.department}'s")
        page = await client.read_inbox(include_acknowledged=args.all, limit=args.limit)
    print(page.model_dump_json(indent=2) if args.json else _listing(page))
    return 0


def _item_id(args: argparse.Namespace) -> int:
    if args.item_id is None:
        raise InputRejected("ID: `caseloop inbox ack` needs the number of the item to acknowledge", field="ID")
    if not args.item_id.isdigit() or int(args.item_id) < 1:
        raise InputRejected(
            f"ID must be a positive item number, not {args.item_id!r}", rule="positive_item_number", field="ID"
        )
    return int(args.item_id)


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
