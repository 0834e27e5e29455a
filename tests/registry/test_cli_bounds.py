"""`caseloop registry import` with files beyond what it reads (a CSV field over the csv module's limit, a file over
the size bound), and how the registry commands say that the store cannot be used: exit codes, never driver text."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from caseloop.cli import main
from caseloop.commands.bounds import MOST_FILE_BYTES
from caseloop.errors import EXIT_REJECTED, EXIT_UNREACHABLE
from workers.settings import get_settings


@pytest.fixture
def cli_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def run_cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_a_csv_field_over_the_limit_is_refused_naming_file_line_and_rule(
    cli_store: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = tmp_path / "departments.csv"
    table.write_text(
        'code,name,level\nSQ-A,甲,city\nSQ-B,"乙\n' + "乙" * 200_000 + '",city\nSQ-C,丙,city\n', encoding="utf-8"
    )
    assert await run_cli("registry", "import", str(table)) == EXIT_REJECTED
    assert capsys.readouterr().err == (
        f"caseloop: FILE: {table}: line 4: a field is longer than 131072 characters (rule csv.field-size, field FILE)\n"
    )
    assert await run_cli("registry", "show") == 0
    assert "the registry is empty" in capsys.readouterr().out, "nothing was stored"


async def test_a_registry_file_over_the_size_bound_is_refused(
    cli_store: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    huge = tmp_path / "registry.yaml"
    huge.write_bytes(b"departments: []\n# " + b"x" * MOST_FILE_BYTES + b"\n")
    assert await run_cli("registry", "import", str(huge)) == EXIT_REJECTED
    assert capsys.readouterr().err == f"caseloop: FILE: {huge} is larger than 16 MiB (rule file.size, field FILE)\n"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def store_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def point(url: str) -> None:
        monkeypatch.setenv("CASELOOP_STORE_URL", url)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


async def test_a_store_nobody_listens_for_is_named_without_driver_text_or_password(
    store_at: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    store_at(f"postgresql+asyncpg://caseloop:hunter2@127.0.0.1:{port}/caseloop")
    assert await run_cli("registry", "show") == EXIT_UNREACHABLE
    assert capsys.readouterr().err == (
        f"caseloop: the store at postgresql+asyncpg://caseloop:***@127.0.0.1:{port}/caseloop cannot be reached: "
        "nothing accepts connections there\n"
    )


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"username": "intruder", "password": "hunter2"}, "it refused the login"),
        ({"database": "no_such_database"}, "it has no such database"),
    ],
    ids=["login", "database"],
)
async def test_a_store_that_refuses_is_unreachable_in_plain_words(
    pg_admin_url: str,
    store_at: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    said: str,
) -> None:
    url = make_url(pg_admin_url).set(drivername="postgresql+asyncpg", **change)
    store_at(url.render_as_string(hide_password=False))
    assert await run_cli("registry", "show") == EXIT_UNREACHABLE
    err = capsys.readouterr().err
    assert err.startswith(f"caseloop: the store at {url.render_as_string(hide_password=True)} cannot be used: {said}")
    assert "hunter2" not in err
    assert 'intruder" does not exist' not in err and 'no_such_database" does not exist' not in err
