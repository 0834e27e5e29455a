"""A light command starts light: `caseloop deadline` and `caseloop --help` import none of the stack (the server, the
door, the worker, the report charts), and a verb's parser built from its own module alone says what the whole
parser says. How fast they start is measured in bench/ (scenario 7), not asserted here."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from caseloop.cli import COMMAND_MODULES, VERBS, build_parser
from caseloop.commands.case import READ_VERBS
from caseloop.errors import EXIT_UNREACHABLE

# What only the servers and the worker need; any of them costs a light command seconds.
HEAVY = ("workers.stack", "workers.door", "workers.worker", "uvicorn", "fastapi", "matplotlib", "temporalio.worker")
# What `caseloop deadline` needs no more than the stack: the SDK, its HTTP client, the workflows, the Temporal SDK
# (the payload codec), and Alembic (reading a store's revision does not need it).
NOT_FOR_DEADLINE = (*HEAVY, "caseloop.sdk", "httpx", "workflows", "temporalio", "workers.codec", "alembic")

NOT_FOR_A_STORE_WITHOUT_OVERRIDES = (
    "sqlalchemy",
    "activities",
    "schemas.handoff.state",
    "schemas.case",
    "click",
    "rich",
)

# What `caseloop case show` needs no more than the stack: the door's request models and the list's summaries
# (`schemas.api`), the hand-offs (their models and handle), the intake channels, joint applications and scheduled
# deliveries the SDK's client also serves, and the YAML reader (it reads no file).
NOT_FOR_CASE_SHOW = (
    *HEAVY,
    "schemas.api",
    "schemas.handoff.state",
    "schemas.handoff.commands",
    "caseloop.sdk.handoffs",
    "caseloop.sdk.summaries",
    "schemas.intake_api",
    "schemas.joint",
    "schemas.scheduled",
    "yaml",
    "workflows",
    "temporalio",
    "sqlalchemy",
)

DEADLINE = ["deadline", "--from", "2026-06-01T09:00:00+08:00", "--limit", "15", "--unit", "working-days"]


# The console script's own code, with the loaded modules written down as the process exits.
RUN_AND_LIST_MODULES = """
import atexit, os, sys
loaded = lambda: sorted(name for name, module in sys.modules.items() if module is not None)  # None: an import refused
atexit.register(lambda: open(os.environ["MODULES_FILE"], "w").write("\\n".join(loaded())))
from caseloop.cli import main
sys.exit(main())
"""


def _caseloop(argv: list[str], data_dir: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Runs the CLI as its own process; answers what it printed and the modules it had loaded at exit."""
    modules = data_dir / "modules.txt"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CASELOOP_")}
    env = {name: value for name, value in env.items() if not name.lower().endswith("_proxy")}  # a direct door
    env |= {"CASELOOP_DATA_DIR": str(data_dir), "MODULES_FILE": str(modules)}
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, set(modules.read_text(encoding="utf-8").split())


def _among(imported: set[str], packages: tuple[str, ...]) -> list[str]:
    """The imported modules that are one of `packages` or inside one."""
    return sorted(name for name in imported if name in packages or name.startswith(tuple(f"{p}." for p in packages)))


def test_deadline_without_a_store_imports_none_of_the_stack(tmp_path: Path) -> None:
    done, imported = _caseloop(DEADLINE, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "due        2026-06-23T17:30:00+08:00" in done.stdout
    assert "caseloop.commands.clock" in imported  # the measurement saw the command run
    assert _among(imported, NOT_FOR_DEADLINE) == []
    assert _among(imported, tuple(module for module in COMMAND_MODULES if not module.endswith(".clock"))) == []
    assert "no operator overrides were read: there is no store at" in done.stderr  # said without SQLAlchemy
    assert _among(imported, NOT_FOR_A_STORE_WITHOUT_OVERRIDES) == []


def test_deadline_reading_a_store_imports_none_of_the_stack(tmp_path: Path) -> None:
    migrated, _ = _caseloop(["db", "upgrade"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    done, imported = _caseloop(DEADLINE, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no operator overrides were read" not in done.stderr  # the store was read
    assert "due        2026-06-23T17:30:00+08:00" in done.stdout
    assert _among(imported, NOT_FOR_DEADLINE) == []
    # A migrated SQLite store holding no override is asked with sqlite3: no SQLAlchemy, no store models, and none
    # of the hand-off's or the case's models (the settings need only the hand-off's policy).
    assert _among(imported, NOT_FOR_A_STORE_WITHOUT_OVERRIDES) == []


def test_help_lists_every_verb_and_imports_none_of_the_stack(tmp_path: Path) -> None:
    done, imported = _caseloop(["--help"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(f"    {verb}" in done.stdout for verb in VERBS)
    assert _among(imported, HEAVY) == []


def test_case_show_imports_only_what_reading_a_case_needs(tmp_path: Path) -> None:
    """`caseloop case show` against a door that is not there: every import of the verb and the SDK's connect, no
    answer (tests/cli/test_case_cli.py reads a case through a real door the same way)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    key = tmp_path / "key"
    key.write_text("clk_not-checked", encoding="utf-8")
    done, imported = _caseloop(["case", "show", "case-X-1", "--api-url", closed, "--api-key-file", str(key)], tmp_path)
    assert done.returncode == EXIT_UNREACHABLE, done.stderr[-2000:]
    assert "caseloop.sdk.cases" in imported and "httpx" in imported  # the measurement saw the verb run
    assert _among(imported, NOT_FOR_CASE_SHOW) == []


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _helps(parser: argparse.ArgumentParser, path: str = "caseloop") -> dict[str, str]:
    """Every help text under `parser`, by command path."""
    helps = {path: parser.format_help()}
    for name, verb in _verbs(parser).items():
        helps |= _helps(verb, f"{path} {name}")
    return helps


def test_the_verb_table_lists_what_the_modules_register_in_order() -> None:
    assert list(_verbs(build_parser())) == list(VERBS)


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_verb_alone_helps_as_in_the_whole_parser(verb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps to the terminal: the same width for both
    whole = _helps(_verbs(build_parser())[verb], f"caseloop {verb}")
    alone = _helps(_verbs(build_parser(verb))[verb], f"caseloop {verb}")
    assert alone == whole
    assert list(_verbs(build_parser(verb))) == [name for name, module in VERBS.items() if module == VERBS[verb]]


def test_a_client_verb_loads_with_the_collector_off_and_runs_with_it_on(tmp_path: Path) -> None:
    """The console script of a client verb imports its modules with the garbage collector off, then freezes them and
    turns it on again before the command runs; `caseloop deadline` runs (and exits) with the collector on."""
    printed = _deadline_then(
        "import gc; print(code, gc.isenabled(), gc.get_freeze_count() > 10_000, file=sys.stderr)", tmp_path
    )
    assert printed == ["0", "True", "True"]


@pytest.mark.parametrize("then", list(READ_VERBS))
def test_a_case_verb_that_reads_helps_alone_as_in_the_whole_parser(then: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    whole = _helps(_verbs(_verbs(build_parser())["case"])[then], f"caseloop case {then}")
    alone = _verbs(_verbs(build_parser("case", then))["case"])
    assert list(alone) == [then]
    assert _helps(alone[then], f"caseloop case {then}") == whole


@pytest.mark.parametrize("then", ["launch", "sign", "--help", "nonsense", None])
def test_any_other_word_after_case_registers_every_case_verb(then: str | None) -> None:
    whole = list(_verbs(_verbs(build_parser())["case"]))
    assert list(_verbs(_verbs(build_parser("case", then))["case"])) == whole
    assert whole[:5] == ["launch", *READ_VERBS] and len(whole) > 20


def test_a_client_verb_builds_only_the_models_it_uses(tmp_path: Path) -> None:
    """The console script of a client verb defers each pydantic model's build to its first use: the clock models
    `caseloop deadline` validates and prints are built, the ones it never touches are not."""
    printed = _deadline_then(
        "from schemas import clock; print(code, clock.ClockSpec.__pydantic_complete__, "
        "clock.SlaClockState.__pydantic_complete__, file=sys.stderr)",
        tmp_path,
    )
    assert printed == ["0", "True", "False"]


def _deadline_then(check: str, data_dir: Path) -> list[str]:
    """Runs `caseloop deadline` as its console script would (in a process of its own), then `check`, which prints
    three words to stderr after `code`, the command's exit code, is set; answers those three words."""
    script = f"import sys; from caseloop.cli import main; code = main(); {check}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CASELOOP_")}
    env["CASELOOP_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-c", script, *DEADLINE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert "due        2026-06-23T17:30:00+08:00" in done.stdout, done.stderr[-2000:]
    return done.stderr.split()[-3:]
