"""`caseloop up` (the embedded stack) and `caseloop worker` (a worker alone, for a cluster)."""

from __future__ import annotations

import argparse

from caseloop.errors import CommandError, Unreachable
from workers.logs import configure_logging
from workers.settings import get_settings
from workers.stack import StackError, TemporalUnreachable, run_stack, run_worker


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser(
        "up", help="start the embedded stack: Temporal server and Web UI, store, worker, metrics"
    )
    up.set_defaults(handler=_up)
    worker = subparsers.add_parser("worker", help="run a worker against the Temporal target of the settings")
    worker.set_defaults(handler=_worker)


async def _up(_args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await run_stack(settings)
    except StackError as error:
        raise CommandError(str(error)) from None
    return 0


async def _worker(_args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await run_worker(settings)
    except TemporalUnreachable as error:
        raise Unreachable(str(error)) from None
    except StackError as error:
        raise CommandError(str(error)) from None
    return 0
