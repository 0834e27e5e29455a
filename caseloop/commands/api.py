"""`caseloop api`: the front door alone, as production runs it against a Temporal cluster."""

from __future__ import annotations

import argparse

from caseloop.errors import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    api = subparsers.add_parser(
        "api", help="serve the front door (HTTP API) on bind_host:api_port against the Temporal target of the settings"
    )
    api.set_defaults(handler=_api)


async def _api(_args: argparse.Namespace) -> int:
    # Imported here: only this command needs FastAPI and uvicorn.
    from workers.door.serve import DoorError, serve
    from workers.logs import configure_logging
    from workers.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await serve(settings)
    except DoorError as error:
        raise CommandError(str(error)) from None
    return 0
