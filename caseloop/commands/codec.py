"""`caseloop codec-server`: the Temporal Web UI's decoder, decoding payloads for supervisors only."""

from __future__ import annotations

import argparse

from caseloop.errors import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    codec = subparsers.add_parser(
        "codec-server",
        help="serve the Temporal UI's codec endpoint on bind_host:codec_port: decoded payloads for supervisors, "
        "ciphertext for anyone else",
    )
    codec.set_defaults(handler=_codec_server)


async def _codec_server(_args: argparse.Namespace) -> int:
    # Imported here: only this command needs FastAPI, uvicorn and the store.
    from caseloop.commands.stack import server_settings
    from workers.codec_server import CodecServerError, serve_codec
    from workers.logs import configure_logging

    settings = server_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        await serve_codec(settings)
    except CodecServerError as error:
        raise CommandError(str(error)) from None
    return 0
