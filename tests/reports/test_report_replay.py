"""The report workflow's committed histories replay on today's code: one recorded before reports were sent (its
runs keep building only), and one of today's shape, built then sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.support.histories import read_history
from workflows.reports import ReportWorkflow

HISTORIES = Path(__file__).with_name("histories")


@pytest.mark.parametrize("name", ["before-sending", "with-sending"])
async def test_a_committed_report_history_replays(name: str) -> None:
    replayer = Replayer(workflows=[ReportWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(read_history(HISTORIES / f"{name}.json"))
