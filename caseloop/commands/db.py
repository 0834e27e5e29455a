"""`caseloop db upgrade|current`: migrate the store named by the settings."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="the store's schema")
    verbs = db.add_subparsers(dest="verb", metavar="VERB", required=True)
    up = verbs.add_parser("upgrade", help="migrate the store to the newest schema")
    up.add_argument("--revision", default="heads")
    up.set_defaults(handler=_upgrade)
    current = verbs.add_parser("current", help="print the store's schema revision")
    current.set_defaults(handler=_current)


async def _upgrade(args: argparse.Namespace) -> int:
    from activities.store import migrate
    from workers.settings import get_settings

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    revision = await migrate.upgrade(settings.resolved_store_url, args.revision)
    print(f"store at revision {revision}")
    return 0


async def _current(_args: argparse.Namespace) -> int:
    from activities.store import migrate
    from workers.settings import get_settings

    settings = get_settings()
    print(await migrate.current_revision(settings.resolved_store_url) or "empty")
    return 0
