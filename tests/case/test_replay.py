"""The committed histories of representative cases replay on the current workflow code.

A change that would break a running case fails here unless it is behind `workflow.patched`. Histories are
recorded by `python -m tests.case.record_histories` (see that module for when to record again).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from schemas.case.state import case_id_of
from tests.case.scenarios import SCENARIOS
from workflows.case.workflow import CaseWorkflow

HISTORIES = Path(__file__).with_name("histories")


def recorded_case_id(text: str) -> str | None:
    """The ID the case was recorded under, from its registration: ids the case hands out (its cards') contain it,
    and commands in the history name them."""
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    [payload] = started["input"]["payloads"]
    registration = json.loads(base64.b64decode(payload["data"]))["registration"]
    return case_id_of(registration["system"], registration["case_number"])


def test_every_scenario_has_a_committed_history() -> None:
    assert sorted(path.stem for path in HISTORIES.glob("*.json")) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_a_committed_history_replays(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    text = path.read_text(encoding="utf-8")
    history = WorkflowHistory.from_json(recorded_case_id(text) or f"case-{name}", text)
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
