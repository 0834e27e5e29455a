"""`caseloop case launch|show|timeline|list|count|<command> …`: cases from the command line, through the SDK and the
front door, with a department's credential (see `caseloop.commands.forms` for the flags that name it).

Every command of the case workflow is a verb (`caseloop case sign CASE --as lead`), its fields are flags or come
from `--file` (JSON or YAML), and `--command-id` makes a retried command apply once. `--as` names the role; the
department is the credential's (`--as lead:SQ-ZJJ` names it too, and is refused unless it is the credential's).
Read commands print tables, or JSON with `--json`. Exit codes: 0 done, 2 rejected by a rule, 3 not found,
4 unreachable, 5 timed out, 6 forbidden.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from caseloop.commands.bounds import MOST_LISTED, after, listed, within
from caseloop.commands.forms import add_door_flags, add_model_flags, connect, merged, parse_instant
from caseloop.commands.tables import as_json, cell, pairs, table
from caseloop.errors import InputRejected
from caseloop.sdk.building import build
from caseloop.sdk.cases import CaseHandle
from schemas.case.commands import CASE_COMMANDS, CommandResult
from schemas.case.stages import CardColour, CaseStage, Priority, SupervisionLevel
from schemas.case.state import case_id_of

# The door's request models (`schemas.api`, with the list's summaries) are imported by `launch` and `list`, the verbs
# that use them: `caseloop case show` reads one case and builds none of them (see READ_VERBS).
if TYPE_CHECKING:
    from caseloop.sdk.client import CaseClient
    from caseloop.sdk.summaries import CaseSummary
    from schemas.case.views import CaseView, Timeline


def register(subparsers: argparse._SubParsersAction, only: str | None = None) -> None:
    """The `case` verb and its verbs; with `only` one of READ_VERBS, that verb alone (it parses and helps as in the
    whole parser, and the launch request's and the commands' flags are not built)."""
    case = subparsers.add_parser(
        "case",
        help="launch, drive and find cases",
        description="Cases (launch, commit, supervise, close) through the caseloop API, as the credential's "
        "department. CASE is a case ID (case-SYSTEM-NUMBER, as `list` shows it) or a case number of the "
        "credential's department (of --system's with --system).",
    )
    verbs = case.add_subparsers(dest="verb", metavar="VERB", required=True)
    if only in READ_VERBS:
        READ_VERBS[only](verbs)
        return
    _register_launch(verbs)
    for add in READ_VERBS.values():
        add(verbs)
    _register_commands(verbs)


def _register_launch(verbs: argparse._SubParsersAction) -> None:
    from schemas.api import LaunchRequest

    launch = verbs.add_parser(
        "launch",
        help="register a case (idempotent by the department's case number)",
        description="Registers a case under the credential's department's own case number; the same number again "
        "returns the existing case. The registry names its coordinator and supervisors. Fields come from flags "
        "or --file.",
    )
    add_model_flags(launch, LaunchRequest, skip=frozenset({"policy", "co_units"}))
    launch.add_argument("--co-unit", action="append", default=[], metavar="CODE", help="a mandatory co-unit")
    launch.add_argument("--optional-co-unit", action="append", default=[], metavar="CODE", help="an optional one")
    _common(launch, file=True)
    launch.set_defaults(handler=_launch)


def _register_show(verbs: argparse._SubParsersAction) -> None:
    show = verbs.add_parser("show", help="a case's state: stage, parties, clocks, orders, cards")
    _case_argument(show)
    _common(show)
    show.set_defaults(handler=_show)


def _register_timeline(verbs: argparse._SubParsersAction) -> None:
    timeline = verbs.add_parser("timeline", help="a case's transitions: who, what, when, why")
    _case_argument(timeline)
    timeline.add_argument("--after", type=after, default=0, metavar="SEQ", help="entries after this seq")
    timeline.add_argument(
        "--limit", type=listed, default=MOST_LISTED, help="at most this many entries, 1 to 1000 (default 1000)"
    )
    _common(timeline)
    timeline.set_defaults(handler=_timeline)


def _register_list(verbs: argparse._SubParsersAction) -> None:
    listing = verbs.add_parser("list", help="cases matching filters (Temporal visibility)")
    _filters(listing)
    listing.add_argument("--limit", type=listed, default=100, help="at most this many, 1 to 1000 (default 100)")
    _common(listing)
    listing.set_defaults(handler=_list)


def _register_count(verbs: argparse._SubParsersAction) -> None:
    count = verbs.add_parser("count", help="how many cases match the filters")
    _filters(count)
    _common(count)
    count.set_defaults(handler=_count)


def _register_commands(verbs: argparse._SubParsersAction) -> None:
    for name, model in CASE_COMMANDS.items():
        method = getattr(CaseHandle, name.replace("-", "_"))
        verb = verbs.add_parser(name, help=_first_line(method.__doc__), description=method.__doc__)
        _case_argument(verb)
        verb.add_argument("--as", dest="actor", metavar="ROLE[:DEPT]", help="the role it acts in, e.g. lead")
        add_model_flags(verb, model)
        verb.add_argument("--on-behalf-of", metavar="DEPT", help="operators: the department acted for")
        verb.add_argument("--on-behalf-reason", metavar="TEXT", help="operators: why (required with --on-behalf-of)")
        verb.add_argument("--command-id", metavar="ID", help="applied at most once; default: a new uuid")
        _common(verb, file=True)
        verb.set_defaults(handler=_command, command=name.replace("-", "_"), model=model)


# The verbs that read, each with what registers it, in the order the help lists them (after `launch`): the command
# line `caseloop case <one of them> …` builds that verb's parser alone (caseloop.cli.build_parser).
READ_VERBS = {
    "show": _register_show,
    "timeline": _register_timeline,
    "list": _register_list,
    "count": _register_count,
}


def _common(parser: argparse.ArgumentParser, *, file: bool = False) -> None:
    if file:
        parser.add_argument("--file", metavar="FILE", help="fields from a JSON or YAML file; flags override them")
    parser.add_argument("--within", type=within, default=60.0, metavar="SECONDS", help="wait this long (default 60)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_door_flags(parser)


def _case_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", metavar="CASE", help="a case ID, or a case number")
    parser.add_argument(
        "--system", metavar="CODE", help="the initiating department of a case number (default: the credential's)"
    )


def _filters(parser: argparse.ArgumentParser) -> None:
    stages = [stage.value for stage in CaseStage]
    parser.add_argument("--stage", action="append", choices=stages, help="repeat for any of several")
    parser.add_argument("--card-colour", action="append", choices=[c.value for c in CardColour])
    parser.add_argument("--department", action="append", metavar="CODE", help="the lead department")
    parser.add_argument("--locality", action="append", metavar="CODE")
    parser.add_argument("--matter", action="append", metavar="CODE")
    parser.add_argument("--priority", action="append", choices=[p.value for p in Priority])
    parser.add_argument("--supervision-level", action="append", choices=[level.value for level in SupervisionLevel])
    parser.add_argument(
        "--channel", action="append", metavar="CODE", help="an intake channel, <channel>.<record number>, or unplaced"
    )
    overdue = parser.add_mutually_exclusive_group()
    overdue.add_argument("--overdue", action="store_true", default=None, help="a running step deadline has passed")
    overdue.add_argument(
        "--not-overdue", dest="overdue", action="store_false", default=None, help="nothing is past its deadline"
    )
    parser.add_argument("--due-before", metavar="ISO_TIME", help="a running step deadline falls before this")
    running = parser.add_mutually_exclusive_group()
    running.add_argument("--running", action="store_true", default=None, help="the case's workflow still runs")
    running.add_argument(
        "--finished", dest="running", action="store_false", default=None, help="the case's workflow ended"
    )


async def _client(args: argparse.Namespace) -> CaseClient:
    return await connect(args)


def _handle(client: CaseClient, args: argparse.Namespace) -> CaseHandle:
    if args.system is not None:
        return client.case_by_id(case_id_of(args.system, args.case))
    if args.case.startswith("case-"):
        return client.case_by_id(args.case)
    return client.case(args.case)


async def _launch(args: argparse.Namespace) -> int:
    from schemas.api import LaunchRequest

    fields = merged(args, LaunchRequest)
    nominated = [{"department": code} for code in args.co_unit]
    nominated += [{"department": code, "mandatory": False} for code in args.optional_co_unit]
    if nominated:
        fields["co_units"] = [*fields.get("co_units", []), *nominated]
    request = build(LaunchRequest, None, fields)
    async with await _client(args) as client:
        case = await client.launch(request)
        view = await case.state()
    print(as_json(view) if args.json else f"{case.case_id}  {view.stage.value}")
    return 0


async def _show(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        view = await _handle(client, args).state()
    print(as_json(view) if args.json else _view(view))
    return 0


async def _timeline(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        timeline = await _handle(client, args).timeline(after_seq=args.after, limit=args.limit)
    print(as_json(timeline) if args.json else _entries(timeline))
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        found = await client.list(**_filter_values(args), limit=args.limit)
    print(as_json(found) if args.json else _summaries(found))
    return 0


async def _count(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        counted = await client.count(**_filter_values(args))
    print(f'{{"count": {counted}}}' if args.json else counted)
    return 0


async def _command(args: argparse.Namespace) -> int:
    fields = merged(args, args.model)
    actor = args.actor or fields.pop("actor", None)
    unknown = sorted(set(fields) - set(args.model.model_fields))
    if unknown:
        raise InputRejected(f"--file: {', '.join(unknown)}: not a field of {args.command}", rule="extra_forbidden",
                            field=unknown[0])  # fmt: skip
    async with await _client(args) as client:
        handle = _handle(client, args).acting_as(
            actor or _no_actor(), on_behalf_of=args.on_behalf_of, reason=args.on_behalf_reason
        )
        result = await getattr(handle, args.command)(**fields, command_id=args.command_id)
    print(as_json(result) if args.json else _result(result))
    return 0


def _no_actor() -> str:
    raise InputRejected(
        "--as: every command names the role it acts in, e.g. --as lead", rule="actor.required", field="actor"
    )


def _filter_values(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "stage": args.stage,
        "card_colour": args.card_colour,
        "department": args.department,
        "locality": args.locality,
        "matter": args.matter,
        "priority": args.priority,
        "supervision_level": args.supervision_level,
        "channel": args.channel,
        "overdue": args.overdue,
        "due_before": parse_instant(args.due_before, "--due-before"),
        "running": args.running,
    }


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


def _result(result: CommandResult) -> str:
    made = f", created {result.subject_id}" if result.subject_id else ""
    return (
        f"{result.command}: {result.case_id} is {result.stage.value}"
        f" (seq {result.seq}{made}; command id {result.update_id})"
    )


def _view(view: CaseView) -> str:
    lines = [
        pairs(
            [
                ("case", view.case_id),
                ("stage", view.stage),
                ("card", view.card_colour),
                ("SLA colour", view.sla_colour),
                ("supervision", view.supervision_level),
                ("matter", view.matter_code),
                ("lead", view.lead_department),
                ("locality", view.locality),
                ("coordinator", view.coordinator),
                ("priority", view.priority),
                ("registered", view.registered_at),
                ("committed due", view.committed_due_at),
                ("next due", f"{cell(view.next_due_at)} ({cell(view.next_due_step)})" if view.next_due_at else None),
                ("transitions", view.seq),
            ]
        )
    ]
    if view.assignments:
        assignments = [(a.party, a.department, a.status, a.signed_at) for a in view.assignments]
        lines += ["", table(["party", "department", "status", "signed"], assignments)]
    if view.clocks:
        clocks = [
            (c.step, c.department, c.due_at, c.colour, c.suspended, c.explanation.summary() if c.explanation else None)
            for c in view.clocks
        ]
        lines += ["", table(["clock", "department", "due", "colour", "suspended", "why then"], clocks)]
    if view.orders:
        orders = [(o.order_id, o.department, o.status, o.due_at) for o in view.orders]
        lines += ["", table(["order", "to", "status", "due"], orders)]
    if view.cards:
        cards = [
            (card.card_id, card.level, card.department, card.reason, card.issued_at, card.revoked_at)
            for card in view.cards
        ]
        lines += ["", table(["card", "level", "department", "reason", "issued", "revoked"], cards)]
    if view.meetings:
        meetings = [(m.meeting_id, ", ".join(m.departments), m.due_at, m.decided_at) for m in view.meetings]
        lines += ["", table(["leaders' meeting", "departments", "due", "outcome recorded"], meetings)]
    return "\n".join(lines)


def _entries(timeline: Timeline) -> str:
    rows = [
        (
            e.seq,
            e.at,
            e.actor.label,
            e.action,
            e.to_stage,
            "; ".join(part for part in (e.reason, e.note) if part),
        )
        for e in timeline.entries
    ]
    return table(["seq", "at", "actor", "action", "stage", "reason / note"], rows)


def _summaries(found: list[CaseSummary]) -> str:
    rows = [
        (s.case_id, s.stage, s.card_colour, s.lead_department, s.locality, s.matter, s.next_due_at, s.status)
        for s in found
    ]
    return table(["case", "stage", "card", "lead", "locality", "matter", "next due", "workflow"], rows)
