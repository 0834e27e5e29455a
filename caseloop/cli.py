"""The `caseloop` command line: one parser, command groups registered from caseloop.commands.

Exit codes scripts can rely on: 0 done, 1 failed, 2 rejected by a rule (bad input), 3 not found,
4 unreachable, 5 timed out (retry with the same command id), 6 forbidden (credential refused or role not held).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import sys
from collections.abc import Sequence

from caseloop.errors import CommandError

COMMAND_MODULES = (
    "caseloop.commands.stack",
    "caseloop.commands.db",
    "caseloop.commands.inbox",
    "caseloop.commands.registry",
    "caseloop.commands.credentials",
    "caseloop.commands.clock",
    "caseloop.commands.case",
    "caseloop.commands.handoff",
    "caseloop.commands.demo",
    "caseloop.commands.api",
    "caseloop.commands.codec",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caseloop",
        description="Cross-department case collaboration on Temporal: launch, commit, supervise, close.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except CommandError as error:
        print(f"caseloop: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        # A Temporal client first freed while the interpreter finalizes aborts the process from the SDK's Rust
        # threads (temporalio/sdk-python#300, about one short command in five here): free it now.
        gc.collect()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
