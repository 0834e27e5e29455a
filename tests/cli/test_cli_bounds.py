"""What the case, hand-off and inbox commands refuse before asking the door (input files, `--limit`, `--within`,
`--api-url`), and how they say that the door cannot be reached: exit codes, rule and field, never a traceback."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseloop.cli import build_parser
from caseloop.commands.bounds import MOST_FILE_BYTES, within
from caseloop.errors import EXIT_REJECTED, EXIT_TIMEOUT, EXIT_UNREACHABLE
from tests.support.department_world import run_cli
from workers.settings import get_settings


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """An operator's shell with a credential and no stack: nothing here may reach a door."""
    monkeypatch.setenv("CASELOOP_API_KEY", "clk_not-a-real-key")
    monkeypatch.setenv("CASELOOP_API_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("CASELOOP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def aliases() -> str:
    """Ten values, nine times repeated tenfold by aliases: a billion values in a few hundred bytes."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    return "\n".join([*lines, "title: *a9"]) + "\n"


FILES = {
    "latin1.json": (b'{"title": "caf\xe9"}', "line 1: not UTF-8 text (byte 0xe9)", "file.encoding"),
    "latin1.yaml": (b"case_number: '1'\ntitle: caf\xe9\n", "line 2: not UTF-8 text (byte 0xe9)", "file.encoding"),
    "broken.json": (b'{"title": "x",\n "plan": }', "is not valid JSON: line 2, column 10", "file.syntax"),
    "broken.yaml": (b"title: [x\nplan: y\n", "is not valid YAML: line 2, column 5", "file.syntax"),
    "deep.json": (b"[" * 200_000, "nests too deeply to be read", "file.syntax"),
    "aliases.yaml": (aliases().encode(), "holds more than 1,000,000 values", "file.size"),
}


@pytest.mark.parametrize("name", sorted(FILES))
async def test_a_file_that_cannot_be_read_is_refused_naming_file_and_rule(
    shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    content, said, rule = FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    assert await run_cli("case", "launch", "--file", str(path)) == EXIT_REJECTED
    err = capsys.readouterr().err
    assert err.startswith(f"caseloop: --file: {path}")
    assert said in err
    assert err.rstrip().endswith(f"(rule {rule}, field --file)")


@pytest.mark.parametrize(
    "argv",
    [
        ["case", "sign", "case-SQ-FGW-1", "--as", "lead", "--file"],
        ["handoff", "report", "--file"],
        ["handoff", "withdraw", "--file"],
        ["handoff", "claim", "handoff-1", "--as", "receiver", "--file"],
        ["handoff", "report-batch"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
async def test_every_file_is_read_the_same_way(
    shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(FILES["latin1.yaml"][0])
    assert await run_cli(*argv, str(path)) == EXIT_REJECTED
    field = "FILE" if argv[-1] == "report-batch" else "--file"
    assert capsys.readouterr().err == (
        f"caseloop: {field}: {path}: line 2: not UTF-8 text (byte 0xe9) (rule file.encoding, field {field})\n"
    )


async def test_a_file_over_the_size_bound_is_refused_unread(
    shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"# " + b"x" * MOST_FILE_BYTES + b"\n")
    assert await run_cli("case", "launch", "--file", str(huge)) == EXIT_REJECTED
    assert capsys.readouterr().err == (
        f"caseloop: --file: {huge} is larger than 16 MiB (rule file.size, field --file)\n"
    )


@pytest.mark.parametrize(
    ("content", "rule"), [("- just\n- a list\n", "file.mapping"), ("1: a\ntitle: b\n", "file.mapping")]
)
async def test_a_file_of_something_else_than_fields_is_refused(
    shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, rule: str
) -> None:
    path = tmp_path / "fields.yaml"
    path.write_text(content, encoding="utf-8")
    assert await run_cli("case", "sign", "case-SQ-FGW-1", "--as", "lead", "--file", str(path)) == EXIT_REJECTED
    assert f"(rule {rule}, field --file)" in capsys.readouterr().err


async def test_a_key_file_that_is_not_text_is_refused(
    shell: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"clk_\xff\xfe")
    assert await run_cli("case", "list", "--api-key-file", str(key)) == EXIT_REJECTED
    assert "(rule file.encoding, field --api-key-file)" in capsys.readouterr().err


LISTINGS = [["case", "list"], ["handoff", "list"], ["inbox"], ["case", "timeline", "case-SQ-FGW-1"]]


@pytest.mark.parametrize("limit", ["-1", "0", "1001", "ten"])
@pytest.mark.parametrize("argv", LISTINGS, ids=lambda argv: " ".join(argv[:2]))
async def test_a_limit_out_of_range_is_refused(
    shell: None, capsys: pytest.CaptureFixture[str], argv: list[str], limit: str
) -> None:
    assert await run_cli(*argv, "--limit", limit) == EXIT_REJECTED
    err = capsys.readouterr().err
    assert "argument --limit: " in err
    assert err.rstrip().endswith("(rule limit.range, field limit)")


async def test_a_timeline_after_a_negative_seq_is_refused(shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("case", "timeline", "case-SQ-FGW-1", "--after", "-1") == EXIT_REJECTED
    assert capsys.readouterr().err.rstrip().endswith("(rule after.range, field after)")


# `--within=-inf`: argparse takes a lone `-inf` for an option, as it does any dash word that is not a plain number.
@pytest.mark.parametrize("seconds", ["-5", "0", "nan", "inf", "=-inf", "1e9", "soon"])
@pytest.mark.parametrize("argv", [["case", "list"], ["handoff", "report-batch", "events.json"]], ids=" ".join)
async def test_a_wait_that_is_no_wait_is_refused(
    shell: None, capsys: pytest.CaptureFixture[str], argv: list[str], seconds: str
) -> None:
    option = [f"--within{seconds}"] if seconds.startswith("=") else ["--within", seconds]
    assert await run_cli(*argv, *option) == EXIT_REJECTED
    err = capsys.readouterr().err
    assert "argument --within: " in err
    assert err.rstrip().endswith("(rule within.range, field within)")


def test_every_within_is_bounded_the_same_way() -> None:
    waiting = {name for name, parser in commands(build_parser()) if "--within" in parser._option_string_actions}
    assert {"case list", "case launch", "case sign", "handoff list", "handoff claim", "inbox", "demo"} <= waiting
    for name, parser in commands(build_parser()):
        if name in waiting:
            assert parser._option_string_actions["--within"].type is within, name


def commands(parser: argparse.ArgumentParser, name: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command's parser, by its words (`case sign`)."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, child in action.choices.items():
                yield from commands(child, f"{name} {word}".strip())


async def test_the_unreachable_door_is_named_without_transport_text_or_credentials(
    shell: None, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    url = f"http://caseloop:hunter2@127.0.0.1:{port}/"
    assert await run_cli("case", "list", "--api-url", url, "--within", "30") == EXIT_UNREACHABLE
    assert capsys.readouterr().err == (
        f"caseloop: cannot reach the caseloop API at http://127.0.0.1:{port}: nothing accepts connections there "
        "(is `caseloop up` or `caseloop api` running?)\n"
    )


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:8080", "127.0.0.1:8080", "http://", "http://127.0.0.1:port"])
async def test_a_door_url_that_is_no_http_url_is_refused(
    shell: None, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    assert await run_cli("case", "list", "--api-url", url) == EXIT_REJECTED
    assert capsys.readouterr().err.rstrip().endswith("(rule api_url.format, field api_url)")


@pytest.mark.timeout(60)  # the old connect step held the command for 30 s whatever --within said
async def test_within_bounds_a_door_that_never_answers(shell: None, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)  # connections queue in the backlog; none is ever accepted or answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        for _ in range(2):  # the second finds the backlog full: its connect itself never completes
            assert await run_cli("case", "list", "--api-url", url, "--within", "1") == EXIT_TIMEOUT
            assert "no answer within 1s" in capsys.readouterr().err
