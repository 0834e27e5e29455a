"""`caseloop up` (the embedded stack) and `caseloop worker` (a worker alone, for a cluster)."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from caseloop.errors import CommandError, InputRejected, Unreachable
from workers.logs import configure_logging
from workers.settings import Environment, Settings, configured_environment, get_settings
from workers.stack import StackError, TemporalUnreachable, run_stack, run_worker


def server_settings() -> Settings:
    """The settings a server process runs with, or exit 2 saying what they lack (production refuses to start
    without encryption, TLS to Temporal, a real SMS provider and PostgreSQL) instead of a traceback."""
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
    settings = server_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await run_worker(settings)
    except TemporalUnreachable as error:
        raise Unreachable(str(error)) from None
    except StackError as error:
        raise CommandError(str(error)) from None
    return 0
