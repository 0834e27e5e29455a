"""`caseloop report monthly --month YYYY-MM` / `caseloop report quarterly --quarter YYYY-Qn`: build a report now.

The same report the schedules build on the 1st (docs/reports.md), from the store of the settings, written to the
reports directory; building it again replaces the files.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from caseloop.errors import InputRejected
from schemas.reports import ReportKind, ReportPeriod, ReportWritten


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="monthly and quarterly reports: volumes, on-time rate, cards, ranking, typical cases",
        description="Builds a report from the store into the reports directory: Markdown, CSV, PNG charts and a PDF.",
    )
    kinds = report.add_subparsers(dest="kind", metavar="KIND", required=True)
    monthly = kinds.add_parser("monthly", help="the month's dispatch report (月調度)")
    monthly.add_argument("--month", required=True, metavar="YYYY-MM", help="e.g. 2026-10")
    monthly.set_defaults(handler=_build, report_kind=ReportKind.MONTHLY, field="month")
    quarterly = kinds.add_parser("quarterly", help="the quarter's circular (季通報)")
    quarterly.add_argument("--quarter", required=True, metavar="YYYY-Qn", help="e.g. 2026-Q4")
    quarterly.set_defaults(handler=_build, report_kind=ReportKind.QUARTERLY, field="quarter")
    for parser in (monthly, quarterly):
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")


async def _build(args: argparse.Namespace) -> int:
    from caseloop.store import open_store
    from workers.reporting import report_service
    from workers.settings import get_settings

    label: str = getattr(args, args.field)
    try:
        period = ReportPeriod.parse(args.report_kind, label)
    except ValueError as error:
        raise InputRejected(str(error), rule="report.period", field=args.field) from None
    settings = get_settings()
    async with open_store() as sessions:
        written = await report_service(settings, sessions).build(period, datetime.now(UTC))
    print(json.dumps(written.model_dump(mode="json"), ensure_ascii=False, indent=2) if args.json else _said(written))
    return 0


def _said(written: ReportWritten) -> str:
    rate = "no case closed" if written.on_time_rate is None else f"{written.on_time_rate:.1%}"
    lines = [
        f"{written.period.kind.value} report {written.period.label} written to {written.directory}"
        + (f" and {written.stored_at}" if written.stored_at else ""),
        f"  cases opened {written.cases_opened}, closed {written.cases_closed}, on time {rate}, "
        f"typical cases {written.typical_cases}",
    ]
    lines += [f"  {file.name:<28} {file.bytes:>9} bytes" for file in written.files]
    return "\n".join(lines)
