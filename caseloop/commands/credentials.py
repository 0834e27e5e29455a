"""`caseloop credentials issue|list|revoke`: the front door's API keys, one or two live per department."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime, time

from caseloop.commands.tables import as_json, cell, table
from caseloop.errors import CommandError, InputRejected, NotFound
from schemas.access import CredentialKind
from schemas.clock import SHANGHAI


def register(subparsers: argparse._SubParsersAction) -> None:
    credentials = subparsers.add_parser(
        "credentials",
        help="API keys of the front door: issue, list, revoke",
        description="Each department system calls the API with its own key; the key names the department. "
        "A department holds at most two live keys of a kind, so a new one can go in service before the old one "
        "is revoked.",
    )
    verbs = credentials.add_subparsers(dest="verb", metavar="VERB", required=True)
    issue = verbs.add_parser(
        "issue",
        help="issue an API key for a department; its secret is shown once",
        description="Prints the key once: caseloop stores only a peppered hash of it. The key goes to stdout, "
        "the notes to stderr, so `KEY=$(caseloop credentials issue SQ-SPJ)` captures the key alone.",
    )
    issue.add_argument("department", metavar="DEPT", help="the department's registry code")
    issue.add_argument(
        "--kind",
        choices=[kind.value for kind in CredentialKind],
        default=CredentialKind.DEPARTMENT.value,
        help="department (default): acts for its department only; operator: the city's operators",
    )
    lifetime = issue.add_mutually_exclusive_group()
    lifetime.add_argument(
        "--expires",
        metavar="ISO_DATE",
        type=_instant,
        help="when the key stops working: a date (its midnight, Shanghai time) or a date and time",
    )
    lifetime.add_argument("--days", type=int, help="how many days the key lives (default: api_key_default_days)")
    issue.add_argument("--comment", help="what the key is for, e.g. the system that holds it")
    issue.add_argument("--json", action="store_true", help="print JSON for scripts (it holds the key)")
    issue.set_defaults(handler=_issue)

    listing = verbs.add_parser("list", help="list the API keys (never their secrets)")
    listing.add_argument("--department", metavar="DEPT", help="only this department's keys")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.set_defaults(handler=_list)

    revoke = verbs.add_parser("revoke", help="revoke an API key for good; it is refused from the next request on")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key id, as `credentials list` shows it")
    revoke.add_argument("--json", action="store_true", help="print JSON for scripts")
    revoke.set_defaults(handler=_revoke)


def _instant(text: str) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), SHANGHAI)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date and time: {text!r}") from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=SHANGHAI)


def _creator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in some containers
        return "cli"


async def _issue(args: argparse.Namespace) -> int:
    from caseloop.store import open_store
    from workers.door.credentials import CredentialRejected, issue_credential
    from workers.settings import get_settings

    settings = get_settings()
    try:
        async with open_store() as sessions:
            issued = await issue_credential(
                sessions,
                settings,
                args.department,
                kind=CredentialKind(args.kind),
                expires_at=args.expires,
                days=args.days,
                comment=args.comment,
                created_by=_creator(),
            )
    except CredentialRejected as error:
        raise InputRejected(str(error), rule=error.rule, field=error.field) from None
    except ValueError as error:  # the peppers: unset in production
        raise CommandError(str(error)) from None
    if args.json:
        print(as_json(issued))
        return 0
    print(
        f"issued API key {issued.key_id} for {issued.department} ({issued.kind.value}), "
        f"expires {cell(issued.expires_at)}",
        file=sys.stderr,
    )
    print(issued.api_key)
    print("the key is shown this once: store it now, caseloop keeps only a hash of it", file=sys.stderr)
    return 0


async def _list(args: argparse.Namespace) -> int:
    from caseloop.store import open_store
    from workers.door.credentials import list_credentials

    async with open_store() as sessions:
        found = await list_credentials(sessions, department=args.department)
    if args.json:
        print(as_json(found))
        return 0
    if not found:
        print("no API keys" + (f" for {args.department}" if args.department else ""))
        return 0
    rows = [
        (c.key_id, c.department, c.kind, c.status, c.expires_at, c.revoked_at, c.last_used_at, c.comment) for c in found
    ]
    print(table(["key id", "department", "kind", "status", "expires", "revoked", "last used", "comment"], rows))
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    from caseloop.store import open_store
    from workers.door.credentials import CredentialNotFound, revoke_credential

    try:
        async with open_store() as sessions:
            revoked = await revoke_credential(sessions, args.key_id)
    except CredentialNotFound as error:
        raise NotFound(str(error)) from None
    if args.json:
        print(as_json(revoked))
    else:
        print(f"API key {revoked.key_id} of {revoked.department} revoked at {cell(revoked.revoked_at)}")
    return 0
