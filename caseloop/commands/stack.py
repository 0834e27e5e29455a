"""`caseloop up` (the embedded stack) and `caseloop worker` (a worker alone, for a cluster)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from caseloop.errors import CommandError, InputRejected, Unreachable

if TYPE_CHECKING:
    from workers.settings import Settings

# The stack (server, door, codec server, worker) is imported by the command that runs it, not while the parser is
# built: it is most of the CLI's start-up time, and `caseloop deadline` needs none of it.


def server_settings() -> Settings:
    """The settings a server process runs with, or exit 2 saying what they lack (production refuses to start
    without encryption, TLS to Temporal, a real SMS provider and PostgreSQL) instead of a traceback."""
    from pydantic import ValidationError

    from workers.settings import get_settings

    try:
        return get_settings()
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            said = problem["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {said}" if where else said)
        raise InputRejected(f"the settings are refused: {'; '.join(problems)}", rule="settings") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser(
        "up", help="start the embedded stack: Temporal server and Web UI, store, worker, metrics"
    )
    up.set_defaults(handler=_up)
    worker = subparsers.add_parser("worker", help="run a worker against the Temporal target of the settings")
    worker.set_defaults(handler=_worker)


async def _up(_args: argparse.Namespace) -> int:
    from workers.logs import configure_logging
    from workers.settings import Environment, configured_environment
    from workers.stack import StackError, run_stack

    # Asked before the settings are read whole, so production hears this rather than what else it lacks.
    if configured_environment() is Environment.PRODUCTION:
        raise InputRejected(
            "caseloop up is the embedded stack for one machine (a Temporal dev server on SQLite) and refuses "
            "production: run `caseloop worker`, `caseloop api` and `caseloop codec-server` against a Temporal "
            "cluster and PostgreSQL (deploy/README.md)",
            rule="environment.production",
            field="environment",
        )
    settings = server_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await run_stack(settings)
    except StackError as error:
        raise CommandError(str(error)) from None
    return 0


async def _worker(_args: argparse.Namespace) -> int:
    from workers.logs import configure_logging
    from workers.stack import StackError, TemporalUnreachable, run_worker

    settings = server_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await run_worker(settings)
    except TemporalUnreachable as error:
        raise Unreachable(str(error)) from None
    except StackError as error:
        raise CommandError(str(error)) from None
    return 0
