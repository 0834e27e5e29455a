"""`caseloop deadline` and `caseloop calendar show|import` against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseloop.cli import main
from workers.settings import get_settings

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
NATIONAL_DAY = ["deadline", "--from", "2026-09-24T10:00+08:00", "--limit", "15", "--unit", "working-days"]


@pytest.fixture
def store(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI's settings point at a fresh migrated store."""
    monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    monkeypatch.setenv("CASELOOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_deadline_prints_due_rungs_and_why(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *NATIONAL_DAY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "due        2026-10-22T17:30:00+08:00"
    assert lines[1] == "estimated  no"
    assert "rungs (default profile)" in lines
    assert any(line.split()[:2] == ["reminder", "2026-10-13T13:45:00+08:00"] for line in lines)
    assert any(line.split()[:2] == ["yellow", "2026-10-21T17:30:00+08:00"] for line in lines)
    assert any(line.split()[:2] == ["admonitory_talk", "2026-11-05T17:30:00+08:00"] for line in lines)
    assert "  2026-10-01 National Day" in lines
    assert "  2026-10-10 make-up working day (National Day)" in lines


def test_deadline_as_json(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, *NATIONAL_DAY, "--paused", "2026-09-29T09:00+08:00/2026-10-09T09:00+08:00", "--extension", "2", "--json"
    )
    assert code == 0
    schedule = json.loads(out)
    assert schedule["deadline"]["due_at"] == "2026-10-29T17:30:00+08:00"  # 15 + 2 working days, 3 paused
    assert schedule["deadline"]["estimated"] is False
    assert schedule["profile"] == "default"
    assert [rung["kind"] for rung in schedule["rungs"]][:3] == ["reminder", "yellow", "red"]


def test_deadline_in_an_unpublished_year_says_estimated(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "deadline", "--from", "2027-03-01T09:00+08:00", "--limit", "3", "--unit", "natural-days")
    assert code == 0
    assert "estimated  yes (2027)" in out.splitlines()


def test_deadline_says_when_only_the_ladder_is_estimated(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "deadline", "--from", "2026-12-30T11:50+08:00", "--limit", "1", "--unit", "office-hours")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["due        2026-12-30T14:20:00+08:00", "estimated  no (rungs in 2027 are estimated)"]
    assert any(line.split()[0] == "circular" and line.endswith("(estimated)") for line in lines)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--unit", "fortnights"], "--unit: unknown unit 'fortnights'; use one of working-days, office-hours"),
        (["--limit", "0"], "--limit: Input should be greater than 0"),
        (["--limit", "-2"], "--limit: Input should be greater than 0"),
        (["--limit", "two"], "--limit: 'two' is not a number"),
        (["--limit", "1.5"], "limit must be a whole number of working-days"),
        (["--from", "2026-09-24T10:00"], "--from: '2026-09-24T10:00' has no time zone"),
        (["--from", "yesterday"], "--from: 'yesterday' is not an ISO 8601 time"),
        (["--paused", "2026-09-29T09:00+08:00/2026-09-28T09:00+08:00"], "pause ends (2026-09-28T09:00:00+08:00)"),
        (["--paused", "2026-09-29T09:00+08:00"], "--paused: '2026-09-29T09:00+08:00' must be FROM/TO"),
        (
            [
                "--paused",
                "2026-09-29T09:00+08:00/2026-10-09T09:00+08:00",
                "--paused",
                "2026-10-08T09:00+08:00/2026-10-12T09:00+08:00",
            ],
            "pauses overlap",
        ),
        (["--profile", "lenient"], "--profile: unknown profile 'lenient'"),
    ],
)
def test_bad_deadline_input_is_refused(
    store: str, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    argv = dict(zip(NATIONAL_DAY[1::2], NATIONAL_DAY[2::2], strict=True))
    repeated = []
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag in argv:
            argv[flag] = value
        else:
            repeated += [flag, value]
    code, out, err = run(capsys, "deadline", *(part for pair in argv.items() for part in pair), *repeated)
    assert code == 2
    assert out == ""
    assert message in err


def test_calendar_show_an_official_year(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "calendar", "show", "2026")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("2026: official — State Council notice (chinesecalendar")
    assert "  2026-10-01 Thu  National Day" in lines
    assert "  2026-10-10 Sat  National Day" in lines[lines.index("make-up working days") :]


def test_calendar_import_makes_a_year_exact(store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "calendar", "show", "2027", "--json")
    assert json.loads(out)["source"] == "estimated"
    year_file = tmp_path / "calendar-2027.yaml"
    year_file.write_text((EXAMPLES / "calendar-2027.example.yaml").read_text(encoding="utf-8"), encoding="utf-8")

    code, out, _ = run(capsys, "calendar", "import", str(year_file))
    assert code == 0
    assert out.startswith("imported 2027: 28 days off, 4 make-up working days")

    code, out, _ = run(capsys, "calendar", "show", "2027", "--json")
    shown = json.loads(out)
    assert shown["source"] == "override"
    assert shown["label"].endswith("(imported from calendar-2027.yaml)")
    code, out, _ = run(capsys, "deadline", "--from", "2027-09-30T10:00+08:00", "--limit", "1", "--unit", "working-days")
    assert out.splitlines()[:2] == ["due        2027-10-08T17:30:00+08:00", "estimated  no"]


def test_office_hours_import_applies_to_the_locality(
    store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hours_file = tmp_path / "luohe.yaml"
    hours_file.write_text((EXAMPLES / "office-hours-411100.example.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = run(capsys, "calendar", "import", str(hours_file))
    assert code == 0
    assert out.strip() == "imported office hours of 411100: 08:30-12:00, 14:00-17:00 (summer)"
    immediate = ["deadline", "--from", "2026-11-02T11:30+08:00", "--limit", "1", "--unit", "office-hours"]
    code, out, _ = run(capsys, *immediate, "--locality", "411100")
    assert out.splitlines()[0] == "due        2026-11-02T14:30:00+08:00"
    code, out, _ = run(capsys, *immediate)
    assert out.splitlines()[0] == "due        2026-11-02T14:00:00+08:00"


def test_a_malformed_file_stores_nothing(store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad-2027.yaml"
    bad.write_text(
        "year: 2027\nsource: s\nholidays:\n  - {name: x, dates: [2027-01-01]}\n"
        "makeup_workdays:\n  - {name: y, dates: [2027-01-04]}\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "calendar", "import", str(bad))
    assert code == 2
    assert "bad-2027.yaml: makeup_workdays: 2027-01-04 (y) is a weekday" in err
    code, out, _ = run(capsys, "calendar", "show", "2027", "--json")
    assert json.loads(out)["source"] == "estimated"


def test_a_missing_file_is_not_found(store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "calendar", "import", str(tmp_path / "nope.yaml"))
    assert code == 3
    assert "no such file" in err


@pytest.mark.parametrize("year", ["twenty", "1800"])
def test_a_bad_year_is_refused(store: str, capsys: pytest.CaptureFixture[str], year: str) -> None:
    code, _, err = run(capsys, "calendar", "show", year)
    assert code == 2
    assert err.startswith("caseloop: YEAR: ")


def test_an_unmigrated_store_says_what_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASELOOP_STORE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        code, _, err = run(capsys, *NATIONAL_DAY)
    finally:
        get_settings.cache_clear()
    assert code == 0, "the built-in calendars answer (tests/clock/test_cli_without_store.py)"
    assert "caseloop db upgrade" in err
