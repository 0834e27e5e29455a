"""Committed histories of the delivery-day and joint workflows replay against today's code.

A change that would break running days or applications fails here; guard it with `workflow.patched`, and record
the new shape beside the old one with:

    CASELOOP_RECORD_HISTORIES=1 .venv/bin/pytest -p no:xdist tests/joint/test_delivery.py tests/joint/test_joint.py \
        tests/joint/test_ladder_orders.py

and keep the committed files of the older shapes (check out the ones the recording rewrote).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.support.histories import read_history, write_history
from workers.worker import workflow_runner
from workflows.delivery.workflow import DeliveryDayWorkflow, DeliveryOpeningWorkflow
from workflows.joint.workflow import JointWorkflow
from workflows.verify.workflow import VerificationWorkflow

HISTORIES = Path(__file__).with_name("histories")
RECORDING = os.environ.get("CASELOOP_RECORD_HISTORIES") == "1"


def record_history(name: str, workflow_id: str, history: WorkflowHistory) -> None:
    """Writes the history when recording; the tests that play the scenarios call it."""
    if RECORDING:
        write_history(HISTORIES / f"{name}.json", workflow_id, history)


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda path: path.stem)
async def test_a_committed_history_replays(path: Path) -> None:
    replayer = Replayer(
        workflows=[DeliveryDayWorkflow, DeliveryOpeningWorkflow, JointWorkflow, VerificationWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(read_history(path))
