"""What a SQLite store holds, asked with the standard library's sqlite3 before SQLAlchemy is imported.

`caseloop deadline` reads the store only for the operators' calendar overrides and office hours; on most machines
there are none, and importing SQLAlchemy to learn that costs more than the rest of the command. These questions
answer "yes" only when sure; any doubt (another database, no file, an unusual URL, a store not migrated, an
error) answers "no", and the command reads the store through SQLAlchemy as before, with its plain messages.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote

NO_STORE = "there is no store at {path} (`caseloop db upgrade` makes one, as `caseloop up` does)"

# The tables activities/store/calendar.py maps, and Alembic's version table (activities/store/migrate.py).
_NO_OVERRIDES = (
    "SELECT (SELECT count(*) FROM alembic_version) > 0"
    " AND NOT EXISTS (SELECT 1 FROM calendar_years) AND NOT EXISTS (SELECT 1 FROM calendar_days)"
)
_NO_OFFICE_HOURS = "SELECT NOT EXISTS (SELECT 1 FROM office_hours WHERE locality = ?)"


def sqlite_file(url: str) -> Path | None:
    """The file a plain `sqlite+aiosqlite:///path` URL names, or None for anything else (options, memory, hosts)."""
    scheme, separator, rest = url.partition(":///")
    if not separator or scheme not in ("sqlite", "sqlite+aiosqlite") or not rest or "?" in rest or "#" in rest:
        return None
    return Path(unquote(rest))


def no_sqlite_store(url: str) -> str | None:
    """Why there is nothing to read when a plain SQLite URL names a file that does not exist (connecting would
    create it), as `caseloop.store.why_no_store` says it; None otherwise."""
    path = sqlite_file(url)
    return None if path is None or path.is_file() else NO_STORE.format(path=path)


def holds_no_overrides(url: str, locality: str | None) -> bool:
    """True when `url` is a migrated SQLite store with no calendar override and no office hours for `locality`:
    the built-in calendar and office hours answer exactly as the store's would."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return False
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        none = bool(connection.execute(_NO_OVERRIDES).fetchone()[0])
        if none and locality is not None:
            none = bool(connection.execute(_NO_OFFICE_HOURS, (locality,)).fetchone()[0])
        return none
    except sqlite3.Error:  # no such table (not migrated), a lock, a broken file: the usual path says what it is
        return False
    finally:
        connection.close()
