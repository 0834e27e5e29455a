"""`caseloop deadline` and `caseloop calendar show|import` on a fresh machine (no store, or one never migrated), into
a pipe whose reader has gone, and with input beyond the clock's horizon or the CLI's file bounds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.store.migrate import upgrade
from caseloop.cli import main
from caseloop.commands.bounds import MOST_FILE_BYTES
from tests.support import postgres
from workers.settings import get_settings

ROOT = Path(__file__).parents[2]
NATIONAL_DAY = ["deadline", "--from", "2026-09-24T10:00+08:00", "--limit", "15", "--unit", "working-days"]
DUE = "due        2026-10-22T17:30:00+08:00"
NOTE = "caseloop: no operator overrides were read: "


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def point_at(monkeypatch: pytest.MonkeyPatch, data_dir: Path, store_url: str | None = None) -> None:
    if store_url is None:
        monkeypatch.delenv("CASELOOP_STORE_URL", raising=False)
    else:
        monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    monkeypatch.setenv("CASELOOP_DATA_DIR", str(data_dir))
    get_settings.cache_clear()


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A machine that never ran a stack: the data directory does not exist."""
    data_dir = tmp_path / "data"
    point_at(monkeypatch, data_dir)
    yield data_dir
    get_settings.cache_clear()


def test_deadline_on_a_fresh_machine_answers_from_the_built_in_calendars(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *NATIONAL_DAY)
    assert code == 0
    assert out.splitlines()[0] == DUE
    store = fresh / "caseloop.db"
    assert err == (
        f"{NOTE}there is no store at {store.resolve()} (`caseloop db upgrade` makes one, as `caseloop up` does); "
        "the built-in calendars answer\n"
    )
    assert not fresh.exists(), "asking makes no data directory and no store"


def test_calendar_show_on_a_fresh_machine_answers_from_the_built_in_calendars(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "calendar", "show", "2026")
    assert code == 0
    assert out.startswith("2026: official — State Council notice")
    assert err.startswith(NOTE + "there is no store at ")


def test_an_import_on_a_fresh_machine_makes_no_store(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    year_file = tmp_path / "calendar-2027.yaml"
    year_file.write_text((ROOT / "docs" / "examples" / "calendar-2027.example.yaml").read_text(encoding="utf-8"))
    code, _, err = run(capsys, "calendar", "import", str(year_file))
    assert code == 1
    assert err.startswith("caseloop: nothing was imported: there is no store at ")
    assert not fresh.exists()


def test_an_empty_sqlite_file_is_a_store_never_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    point_at(monkeypatch, tmp_path, f"sqlite+aiosqlite:///{empty}")
    try:
        code, out, err = run(capsys, "calendar", "show", "2026", "--json")
    finally:
        get_settings.cache_clear()
    assert code == 0
    assert '"source": "official"' in out
    assert err == (
        f"{NOTE}the store at sqlite+aiosqlite:///{empty} is not migrated yet (`caseloop db upgrade` migrates it); "
        "the built-in calendars answer\n"
    )


async def test_a_postgres_database_never_migrated(
    pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name, url = await postgres.create_database(pg_admin_url)
    point_at(monkeypatch, tmp_path, url)
    try:
        code = await asyncio.to_thread(main, NATIONAL_DAY)
    finally:
        get_settings.cache_clear()
        await postgres.drop_database(pg_admin_url, name)
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0] == DUE
    assert err.startswith(NOTE + "the store at postgresql+asyncpg://")
    assert "is not migrated yet" in err


async def test_a_migrated_store_is_read_without_a_note(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, tmp_path, store_url)
    try:
        code = await asyncio.to_thread(main, NATIONAL_DAY)
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    assert (code, out.splitlines()[0], err) == (0, DUE, "")


@pytest.mark.parametrize(
    ("options", "option", "field"),
    [
        (["--limit", "99999", "--unit", "working-days"], "--limit", "limit"),
        (["--limit", "1e12", "--unit", "natural-hours"], "--limit", "limit"),  # more hours than a timedelta holds
        (["--limit", "1", "--unit", "natural-days", "--extension", "99999"], "--extension", "extensions"),
        (
            ["--limit", "1", "--unit", "natural-days", "--paused", "2026-09-25T00:00+08:00/2090-01-01T00:00+08:00"],
            "--paused",
            "pauses",
        ),
    ],
    ids=["limit", "hours", "extension", "pause"],
)
def test_a_deadline_past_the_clock_horizon_names_the_field_and_the_rule(
    fresh: Path, capsys: pytest.CaptureFixture[str], options: list[str], option: str, field: str
) -> None:
    code, out, err = run(capsys, "deadline", "--from", "2026-09-24T10:00+08:00", *options)
    assert (code, out) == (2, "")
    said = err.splitlines()[-1]
    assert said.startswith(f"caseloop: {option}: the deadline lies ")
    assert said.endswith(f"(rule clock.horizon, field {field})")


@pytest.mark.parametrize("amount", ["inf", "-inf", "nan"])
def test_a_limit_that_is_no_finite_number_is_refused(
    fresh: Path, capsys: pytest.CaptureFixture[str], amount: str
) -> None:
    code, _, err = run(
        capsys, "deadline", "--from", "2026-09-24T10:00+08:00", f"--limit={amount}", "--unit", "office-hours"
    )
    assert code == 2
    assert err.splitlines()[-1] == f"caseloop: --limit: {amount!r} is not a finite number (rule number, field --limit)"


def test_an_override_file_over_the_size_bound_is_refused(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "calendar-2027.yaml"
    huge.write_bytes(b"year: 2027\n# " + b"x" * MOST_FILE_BYTES + b"\n")
    code, _, err = run(capsys, "calendar", "import", str(huge))
    assert code == 2
    assert err == f"caseloop: FILE: {huge} is larger than 16 MiB (rule file.size, field FILE)\n"


def test_an_override_file_that_is_not_utf8_is_refused_with_its_line(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin1 = tmp_path / "calendar-2027.yaml"
    latin1.write_bytes(b"year: 2027\nsource: s\nholidays:\n  - {name: f\xeate, dates: [2027-01-01]}\n")
    code, _, err = run(capsys, "calendar", "import", str(latin1))
    assert code == 2
    assert err == f"caseloop: FILE: {latin1}: line 4: not UTF-8 text (byte 0xea) (rule file.encoding, field FILE)\n"


@pytest.mark.parametrize("argv", [NATIONAL_DAY, ["calendar", "show", "2026"], ["calendar", "show", "2026", "--json"]])
async def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path: Path, argv: list[str]) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade(store)
    env = {**os.environ, "CASELOOP_STORE_URL": store, "CASELOOP_DATA_DIR": str(tmp_path)}
    read, write = os.pipe()
    os.close(read)  # as `| head -1` leaves it once it has its line; here before the first, so always
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "caseloop.cli", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr.decode()) == (0, "")
