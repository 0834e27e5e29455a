"""Recorded workflow histories, as case and hand-off tests commit them: written without the recording machine's
paths (failure stack traces carry them), read back for the replayer."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from temporalio.client import WorkflowHistory

_ROOT = Path(__file__).resolve().parents[2]
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
    recorded = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
