"""The one history recorder of both loops: recorded workflow histories, as case and hand-off tests commit them,
written without the recording machine's paths (failure stack traces carry them) and read back for the replayer.

Each loop's test_replay.py replays every history under its histories/ folder and, run with
CASELOOP_RECORD_HISTORIES=1, records its scenarios on the production worker into histories/<shape>/, beside the
shapes before it (which must keep replaying):

    CASELOOP_RECORD_HISTORIES=1 .venv/bin/python -m pytest -p no:xdist tests/{case,handoff}/test_replay.py

Record a new shape only after a change meant to alter the commands of running workflows (behind `workflow.patched`),
under a new shape name, and say so in the commit.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

_ROOT = Path(__file__).resolve().parents[2]
RECORDING = os.environ.get("CASELOOP_RECORD_HISTORIES") == "1"
# Marks a test that records histories: it runs only when asked to record.
recorder = pytest.mark.skipif(not RECORDING, reason="records histories only with CASELOOP_RECORD_HISTORIES=1")
_SITE_PACKAGES = re.compile(r"[^\"\s]*?/site-packages/")


def without_machine_paths(text: str) -> str:
    """Site-packages and checkout prefixes removed, so a stack trace reads `temporalio/…`, `activities/…`."""
    text = _SITE_PACKAGES.sub("", text)
    text = text.replace(f"{_ROOT}/", "").replace(f"{Path(sys.prefix)}/", "")
    return text


def write_history(path: Path, workflow_id: str, history: WorkflowHistory) -> None:
    """The history with its workflow ID, as `read_history` reads it back; the folder is made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"workflow_id": workflow_id, "history": history.to_json_dict()}
    path.write_text(without_machine_paths(json.dumps(document, indent=1)), encoding="utf-8")


def read_history(path: Path) -> WorkflowHistory:
    """A history `write_history` wrote; a bare history (the case's first shape) is read under its file's name."""
    recorded = json.loads(path.read_text(encoding="utf-8"))
    if "workflow_id" not in recorded:
        return WorkflowHistory.from_json(path.stem, recorded)
    return WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])


def committed(histories: Path) -> list[Path]:
    """Every committed history below `histories`, of every shape."""
    return sorted(histories.rglob("*.json"))


def shape_of(histories: Path, path: Path) -> str:
    """A history's test id: its shape and scenario, e.g. `sla-colour/happy_path`."""
    return str(path.relative_to(histories).with_suffix(""))
