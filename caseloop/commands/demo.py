"""`caseloop demo`: plays the seed's scenarios against the running stack, so a newcomer sees real cases."""

from __future__ import annotations

import argparse
from urllib.parse import quote

from caseloop import demo
from caseloop.commands.tables import as_json, table
from caseloop.direct.client import CaseClient


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="play the seed's scenarios against the running stack (idempotent)",
        description="Launches the press release's project problems as cases and pushes approvals to their "
        "regulators, through the SDK, against the Temporal target of the settings (start `caseloop up` first). "
        "Running it again creates nothing new.",
    )
    parser.add_argument("--within", type=float, default=60.0, metavar="SECONDS", help="wait this long per call")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=_demo)


async def _demo(args: argparse.Namespace) -> int:
    async with await CaseClient.connect(within=args.within) as client:
        played = await demo.play(client)
        settings = client.settings
    if args.json:
        print(as_json(played))
        return 0
    print(table(["kind", "workflow", "stage", "about"], [(p.kind, p.workflow_id, p.stage, p.about) for p in played]))
    ui = f"http://{settings.bind_host}:{settings.ui_port}/namespaces/{quote(settings.temporal_namespace)}/workflows"
    print(f"\nIn the Temporal UI: {ui}?query={quote('CaseloopKind IS NOT NULL')}")
    print("Pushes to departments without a webhook wait in their inbox, e.g. `caseloop inbox SQ-WJW`.")
    return 0
