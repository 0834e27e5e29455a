"""The committed histories of representative cases replay on the current workflow code.

A change that would break a running case fails here unless it is behind `workflow.patched`. Histories of every
shape the case has had stay committed: those at the top of histories/ ran before SLA_COLOUR_PATCH, those in
histories/<shape>/ after each later patch. Record the current shape with the one recorder of both loops
(tests/support/histories.py):

    CASELOOP_RECORD_HISTORIES=1 .venv/bin/python -m pytest -p no:xdist tests/case/test_replay.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from tests.case.driver import Driver
from tests.case.scenarios import SCENARIOS
from tests.support.histories import committed, read_history, recorder, shape_of, write_history
from workflows.case.workflow import CaseWorkflow

HISTORIES = Path(__file__).with_name("histories")
# The shape the recorder records: cases publish their SLA colour (presentation.SLA_COLOUR_PATCH).
SHAPE = "sla-colour"


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
    await replayer.replay_workflow(read_history(path))
