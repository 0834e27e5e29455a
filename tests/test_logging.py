"""Logs: one structlog configuration; Temporal's activity logger records come out as structured JSON fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from workers.logs import configure_logging
from workers.settings import LogFormat


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_activity_logger_records_are_structured_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogFormat.JSON, "INFO")

    @activity.defn(name="noisy")
    async def noisy() -> None:
        activity.logger.info("department answered", extra={"department": "SQ-SPJ", "status": 503})

    await ActivityEnvironment().run(noisy)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "department answered"
    assert record["department"] == "SQ-SPJ"
    assert record["status"] == 503
    # Temporal's context is lifted to top-level fields (ActivityEnvironment names the activity "unknown").
    assert record["activity_type"] == "unknown"
    assert "workflow_id" in record
    assert record["level"] == "info"
    assert "temporal_activity" not in record


def test_console_format_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogFormat.CONSOLE, "INFO")
    logging.getLogger("caseloop.test").info("store migrated", extra={"revision": "0001"})
    err = capsys.readouterr().err
    assert "store migrated" in err
    assert "revision=0001" in err
