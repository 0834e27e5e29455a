"""The committed histories of representative cases replay on the current workflow code.

A change that would break a running case fails here unless it is behind `workflow.patched`. Histories of every
shape the case has had stay committed: those at the top of histories/ ran before SLA_COLOUR_PATCH, those in
histories/<shape>/ after each later patch. Record the current shape with the one recorder of both loops
(tests/support/histories.py):

    CASELOOP_RECORD_HISTORIES=1 .venv/bin/python -m pytest -p no:xdist tests/case/test_replay.py
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from schemas.case.state import case_id_of
from tests.case.driver import Driver
from tests.case.scenarios import SCENARIOS
from tests.support.histories import committed, read_history, recorder, shape_of, write_history
from workflows.case.workflow import CaseWorkflow

HISTORIES = Path(__file__).with_name("histories")
# The shape the recorder records: pushes to inboxes written with the transition (workflow.INBOX_WITH_RECORDS_PATCH),
# whose one marker stands for every earlier patch (one alarm, lean transitions, the SLA colour, ...).
SHAPE = "inbox-with-records"


def test_every_scenario_has_a_committed_history_of_every_shape() -> None:
    shapes = [HISTORIES, *(folder for folder in HISTORIES.iterdir() if folder.is_dir())]
    for shape in shapes:
        assert sorted(path.stem for path in shape.glob("*.json")) == sorted(SCENARIOS), shape.name


@recorder
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_record_history(case_worker: Worker, driver: Driver, name: str) -> None:
    handle = await SCENARIOS[name](driver)
    write_history(HISTORIES / SHAPE / f"{name}.json", handle.id, await handle.fetch_history())


@pytest.mark.parametrize("path", committed(HISTORIES), ids=lambda path: shape_of(HISTORIES, path))
async def test_a_committed_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(_history(path))


def _history(path: Path) -> WorkflowHistory:
    """A bare history (its case's first shapes, before the recorder kept the workflow id) replays under the id its
    case was recorded with, read from its registration: ids the case hands out (its cards') contain it, and commands
    in the history name them."""
    text = path.read_text(encoding="utf-8")
    if "workflow_id" in json.loads(text):
        return read_history(path)
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    [payload] = started["input"]["payloads"]
    registration = json.loads(base64.b64decode(payload["data"]))["registration"]
    return WorkflowHistory.from_json(case_id_of(registration["system"], registration["case_number"]), text)
