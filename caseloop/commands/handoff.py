"""`caseloop handoff report|report-batch|withdraw|show|list|count|<command> …`: the double push and double loop from the
command line, through the SDK.

`report` tells caseloop that an approval of the credential's department closed (or an enterprise registered, a
penalty was decided) and starts the hand-offs its matters call for; the receiving department then claims, acts and
sends feedback, and the originating department acknowledges, each with its own credential, through the caseloop
API. Exit codes: 0 done, 2 rejected by a rule, 3 not found, 4 unreachable, 5 timed out, 6 forbidden.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from caseloop.commands.bounds import listed, within
from caseloop.commands.forms import add_door_flags, add_model_flags, connect, merged, parse_instant, read_events
from caseloop.commands.tables import as_json, pairs, table
from caseloop.errors import InputRejected
from caseloop.sdk.building import build
from caseloop.sdk.client import CaseClient
from caseloop.sdk.handoffs import COMMANDS, VERBS, HandoffHandle
from caseloop.sdk.summaries import HandoffSummary
from schemas.handoff import (
    BatchReport,
    EventReport,
    HandoffStage,
    HandoffView,
    SlaColour,
    SourceEvent,
    SourceWithdrawal,
)
from schemas.registry import HandoffDirection


def register(subparsers: argparse._SubParsersAction) -> None:
    handoff = subparsers.add_parser(
        "handoff",
        help="report events, drive and find hand-offs (double push, double loop)",
        description="Hand-offs through the caseloop API, as the credential's department. ID is a hand-off ID as "
        "`report` and `list` show it.",
    )
    verbs = handoff.add_subparsers(dest="verb", metavar="VERB", required=True)

    report = verbs.add_parser(
        "report",
        help="report an event and start its hand-offs (idempotent by department, event and reference)",
        description="Reports an event a department system saw: an approval closed, an enterprise registered, a "
        "penalty decided. Fields come from flags or --file; --occurred-at defaults to now, "
        "--source-department to the credential's department (the only one it may name).",
    )
    add_model_flags(report, SourceEvent, skip=frozenset())
    _common(report, file=True)
    report.set_defaults(handler=_report)

    batch = verbs.add_parser(
        "report-batch",
        help="report many events at once, e.g. a nightly export (idempotent by batch id)",
        description="FILE (JSON or YAML) holds a list of events, or a mapping with `events` (and `batch_id`).",
    )
    batch.add_argument("events_file", metavar="FILE")
    batch.add_argument("--batch-id", metavar="ID", help="the batch's id; default: the file's batch_id")
    _common(batch)
    batch.set_defaults(handler=_report_batch)

    withdraw = verbs.add_parser(
        "withdraw",
        help="the source case was withdrawn: terminate every hand-off its event started",
        description="Terminates every open hand-off the event (department, event, reference) started, with the "
        "reason; withdrawing again reports them as already closed.",
    )
    add_model_flags(withdraw, SourceWithdrawal, skip=frozenset())
    _common(withdraw, file=True)
    withdraw.set_defaults(handler=_withdraw)

    show = verbs.add_parser("show", help="a hand-off: stage, receiver, deadlines, routes, feedback")
    show.add_argument("handoff", metavar="ID")
    _common(show)
    show.set_defaults(handler=_show)

    listing = verbs.add_parser("list", help="hand-offs matching filters (Temporal visibility)")
    _filters(listing)
    listing.add_argument("--limit", type=listed, default=100, help="at most this many, 1 to 1000 (default 100)")
    _common(listing)
    listing.set_defaults(handler=_list)

    count = verbs.add_parser("count", help="how many hand-offs match the filters")
    _filters(count)
    _common(count)
    count.set_defaults(handler=_count)

    for name, verb in VERBS.items():
        model = COMMANDS[name]
        method = getattr(HandoffHandle, name)
        command = verbs.add_parser(verb, help=_first_line(method.__doc__), description=method.__doc__)
        command.add_argument("handoff", metavar="ID")
        command.add_argument("--as", dest="actor", metavar="ROLE[:DEPT]", help="the part it acts in, e.g. receiver")
        add_model_flags(command, model)
        command.add_argument("--on-behalf-of", metavar="DEPT", help="operators: the department acted for")
        command.add_argument("--on-behalf-reason", metavar="TEXT", help="operators: why (required with it)")
        command.add_argument("--command-id", metavar="ID", help="applied at most once; default: a new uuid")
        _common(command, file=True)
        command.set_defaults(handler=_command, command=name, model=model)


def _common(parser: argparse.ArgumentParser, *, file: bool = False) -> None:
    if file:
        parser.add_argument("--file", metavar="FILE", help="fields from a JSON or YAML file; flags override them")
    parser.add_argument("--within", type=within, default=60.0, metavar="SECONDS", help="wait this long (default 60)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_door_flags(parser)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", action="append", choices=[stage.value for stage in HandoffStage])
    parser.add_argument("--colour", action="append", choices=[colour.value for colour in SlaColour])
    parser.add_argument("--receiver", action="append", metavar="CODE", help="the department the push went to")
    parser.add_argument("--locality", action="append", metavar="CODE")
    parser.add_argument("--matter", action="append", metavar="CODE")
    parser.add_argument("--direction", action="append", choices=[d.value for d in HandoffDirection])
    overdue = parser.add_mutually_exclusive_group()
    overdue.add_argument("--overdue", action="store_true", default=None, help="a step deadline has passed")
    overdue.add_argument("--not-overdue", dest="overdue", action="store_false", default=None)
    parser.add_argument("--due-before", metavar="ISO_TIME", help="a step deadline falls before this")
    running = parser.add_mutually_exclusive_group()
    running.add_argument("--running", action="store_true", default=None, help="the loop is still open")
    running.add_argument("--finished", dest="running", action="store_false", default=None)


async def _client(args: argparse.Namespace) -> CaseClient:
    return await connect(args)


async def _report(args: argparse.Namespace) -> int:
    fields = merged(args, SourceEvent)
    fields.setdefault("occurred_at", datetime.now(UTC))
    async with await _client(args) as client:
        fields.setdefault("source_department", client.department)
        report = await client.report_event(build(SourceEvent, None, fields))
    print(as_json(report) if args.json else _report_lines(report))
    return 0


async def _report_batch(args: argparse.Namespace) -> int:
    batch_id, events = read_events(args.events_file)
    async with await _client(args) as client:
        report = await client.report_events(events, batch_id=args.batch_id or batch_id)
    print(as_json(report) if args.json else _batch_lines(report))
    return 0


async def _withdraw(args: argparse.Namespace) -> int:
    fields = merged(args, SourceWithdrawal)
    async with await _client(args) as client:
        fields.setdefault("source_department", client.department)
        report = await client.withdraw_source(build(SourceWithdrawal, None, fields))
    if args.json:
        print(as_json(report))
    else:
        lines = [f"withdrawal of {report.event_key}"]
        lines += [f"  terminated      {handoff_id}" for handoff_id in report.terminated]
        lines += [f"  already closed  {handoff_id}" for handoff_id in report.already_closed]
        print("\n".join(lines))
    return 0


async def _show(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        view = await client.handoff(args.handoff).view()
    print(as_json(view) if args.json else _view(view))
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        found = await client.list_handoffs(**_filter_values(args), limit=args.limit)
    print(as_json(found) if args.json else _summaries(found))
    return 0


async def _count(args: argparse.Namespace) -> int:
    async with await _client(args) as client:
        counted = await client.count_handoffs(**_filter_values(args))
    print(f'{{"count": {counted}}}' if args.json else counted)
    return 0


async def _command(args: argparse.Namespace) -> int:
    fields = merged(args, args.model)
    actor = args.actor or fields.pop("actor", None)
    unknown = sorted(set(fields) - set(args.model.model_fields))
    if unknown:
        raise InputRejected(
            f"--file: {', '.join(unknown)}: not a field of this command", rule="extra_forbidden", field=unknown[0]
        )
    if actor is None:
        raise InputRejected("--as: name the part it acts in, e.g. --as receiver", rule="actor.required", field="actor")
    async with await _client(args) as client:
        handle = client.handoff(args.handoff).acting_as(
            actor, on_behalf_of=args.on_behalf_of, reason=args.on_behalf_reason
        )
        view = await getattr(handle, args.command)(**fields, command_id=args.command_id)
    print(as_json(view) if args.json else f"{view.handoff_id} is {view.stage.value}")
    return 0


def _filter_values(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "stage": args.stage,
        "colour": args.colour,
        "receiver": args.receiver,
        "locality": args.locality,
        "matter": args.matter,
        "direction": args.direction,
        "overdue": args.overdue,
        "due_before": parse_instant(args.due_before, "--due-before"),
        "running": args.running,
    }


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


def _report_lines(report: EventReport) -> str:
    lines = [f"event {report.event_key}: {report.outcome.value}"]
    lines += [f"  {h.handoff_id} → {h.receiver_code or '(to be routed)'}" for h in report.handoffs]
    if report.rejection is not None:
        lines.append(f"  {report.rejection.rule}: {report.rejection.message}")
    return "\n".join(lines)


def _batch_lines(report: BatchReport) -> str:
    return "\n".join([f"batch {report.batch_id}"] + [_report_lines(item) for item in report.reports])


def _view(view: HandoffView) -> str:
    lines = [
        pairs(
            [
                ("hand-off", view.handoff_id),
                ("stage", view.stage),
                ("SLA colour", view.sla_colour),
                ("card colour", view.card_colour),
                ("matter", view.matter_code),
                ("direction", view.direction),
                ("from", f"{view.source_department} {view.reference}"),
                ("to", view.receiver_code),
                ("claimed on push", view.claimed_on_push),
                ("next due", view.next_due_at),
                ("end-to-end due", view.deadlines.end_to_end),
                ("thread", view.thread_id),
                ("loop 2", ", ".join(view.loop_two) or None),
                ("feedback", view.feedback.result if view.feedback else None),
            ]
        )
    ]
    if view.routes:
        routes = [(r.version, r.department_code, r.pushed_at, r.returned_at, r.return_reason) for r in view.routes]
        lines += ["", table(["push", "to", "pushed", "returned", "why"], routes)]
    if view.cards:
        cards = [(card.level, card.department, card.step, card.issued_at) for card in view.cards]
        lines += ["", table(["card", "department", "step", "issued"], cards)]
    if view.supervision_orders:
        orders = [(o.order_id, o.department_code, o.status, o.deadline) for o in view.supervision_orders]
        lines += ["", table(["order", "to", "status", "due"], orders)]
    return "\n".join(lines)


def _summaries(found: list[HandoffSummary]) -> str:
    rows = [(s.handoff_id, s.stage, s.colour, s.matter, s.receiver, s.next_due_at, s.status) for s in found]
    return table(["hand-off", "stage", "colour", "matter", "receiver", "next due", "workflow"], rows)
