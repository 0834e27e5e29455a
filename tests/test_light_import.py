"""`import caseloop` is light: a department system's process loads the SDK without the store, the workflows, the
activities, the domain services, the metrics, the calendars or the Temporal SDK, which only the door and the workers
need."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "activities", "services", "workflows", "workers", "prometheus_client", "chinese_calendar",
         "holidays", "temporalio", "matplotlib")  # fmt: skip


def loaded_by(statement: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{statement}; import sys; print('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


def test_importing_the_sdk_loads_nothing_heavy() -> None:
    for statement in ("import caseloop", "from caseloop.sync import CaseClient", "import caseloop.errors"):
        modules = loaded_by(statement)
        heavy = [name for name in modules if name.split(".")[0] in HEAVY]
        assert not heavy, f"`{statement}` loaded {heavy}; everything it loaded: {modules}"


def test_the_command_line_never_loads_httpx_own_command_line() -> None:
    """httpx imports its own command line (click, rich, pygments) when they are installed; caseloop's has no use."""
    modules = loaded_by("import caseloop.cli, httpx")
    assert not [name for name in modules if name.split(".")[0] in ("click", "rich", "pygments")], modules
