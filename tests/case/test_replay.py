"""The committed histories of representative cases replay on the current workflow code.

A change that would break a running case fails here unless it is behind `workflow.patched`. Histories are
recorded by `python -m tests.case.record_histories` (see that module for when to record again).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.case.scenarios import SCENARIOS
from workflows.case.workflow import CaseWorkflow

HISTORIES = Path(__file__).with_name("histories")
# Every shape the case has had stays committed: the histories at the top of histories/ ran before the first of these
# patches, those in histories/<shape>/ with it. The recorder writes the newest shape (record_histories.SHAPE).
SHAPES = ["", "lean"]
COMMITTED = sorted(str(path.relative_to(HISTORIES)) for path in HISTORIES.rglob("*.json"))


@pytest.mark.parametrize("shape", SHAPES)
def test_every_scenario_has_a_committed_history(shape: str) -> None:
    assert sorted(path.stem for path in (HISTORIES / shape).glob("*.json")) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", COMMITTED)
async def test_a_committed_history_replays(name: str) -> None:
    path = HISTORIES / name
    history = WorkflowHistory.from_json(f"case-{path.stem}", path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
