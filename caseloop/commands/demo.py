"""`caseloop demo`: plays the seed's scenarios against the running stack, through the caseloop API with the
development credentials `caseloop up` issued, so a newcomer sees real cases."""

from __future__ import annotations

import argparse
from urllib.parse import quote

from caseloop.commands.bounds import within


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="play the seed's scenarios against the running stack (idempotent)",
        description="Launches the press release's project problems as cases and pushes approvals to their "
        "regulators, through the caseloop API, each department with the development key `caseloop up` wrote into "
        "the data directory (start `caseloop up` first). Running it again creates nothing new.",
    )
    parser.add_argument("--api-url", metavar="URL", help="the caseloop API (default: CASELOOP_API_URL or the stack's)")
    parser.add_argument("--within", type=within, default=60.0, metavar="SECONDS", help="wait this long per call")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=_demo)


async def _demo(args: argparse.Namespace) -> int:
    from caseloop import demo
    from caseloop.commands.forms import development_keys, door_url
    from caseloop.commands.tables import as_json, table
    from workers.settings import get_settings

    departments = demo.Departments(door_url(args), development_keys(), within=args.within)
    try:
        played = await demo.play(departments)
    finally:
        await departments.close()
    if args.json:
        print(as_json(played))
        return 0
    settings = get_settings()
    print(table(["kind", "workflow", "stage", "about"], [(p.kind, p.workflow_id, p.stage, p.about) for p in played]))
    ui = f"http://{settings.bind_host}:{settings.ui_port}/namespaces/{quote(settings.temporal_namespace)}/workflows"
    print(f"\nIn the Temporal UI: {ui}?query={quote('CaseloopKind IS NOT NULL')}")
    print("Pushes to departments without a webhook wait in their inbox, e.g. `caseloop inbox --as-department SQ-WJW`.")
    return 0
