"""A store outage under retries: one log line per failed activity attempt, and the traceback only once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import text
    from temporalio.client import Client, WorkflowFailureError
    from temporalio.worker import Worker

    from activities.store.db import create_engine
    from workers.logs import configure_logging
    from workers.settings import LogFormat

ATTEMPTS = 4


class StoreLookup:
    """An activity that reads the store, here one that cannot be opened: the store is down."""

    def __init__(self, store_url: str) -> None:
        self._store_url = store_url

    @activity.defn(name="look_up_case")
    async def look_up_case(self, case_id: str) -> str:
        engine = create_engine(self._store_url, keyring=None)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
        return case_id


@workflow.defn(name="LookUpUnderOutage")
class LookUpUnderOutage:
    @workflow.run
    async def run(self, case_id: str) -> str:
        return await workflow.execute_activity(
            "look_up_case",
            case_id,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=ATTEMPTS),
        )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Records]:
    """Every record the root logger handles; the test configures the worker's logging first."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    records = Records()
    yield records
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_every_failed_attempt_is_one_line_and_the_traceback_comes_once(
    ts_client: Client, task_queue: str, tmp_path: Path, captured: Records, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LogFormat.JSON, "INFO")  # here, so that it writes to the stderr capsys captures
    logging.getLogger().addHandler(captured)
    down = StoreLookup(f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'store.db'}")
    async with Worker(ts_client, task_queue=task_queue, workflows=[LookUpUnderOutage], activities=[down.look_up_case]):
        with pytest.raises(WorkflowFailureError):  # the retries run out: time skips over their backoff
            await ts_client.execute_workflow(
                LookUpUnderOutage.run, "case-1", id=f"outage-{task_queue}", task_queue=task_queue
            )

    failed = [record for record in captured.records if record.getMessage() == "activity attempt failed"]
    assert [record.temporal_activity["attempt"] for record in failed] == list(range(1, ATTEMPTS + 1))  # type: ignore[attr-defined]
    assert [record.exc_info is not None for record in failed] == [True] + [False] * (ATTEMPTS - 1)
    assert {record.error for record in failed} == {"OperationalError"}  # type: ignore[attr-defined]
    assert all("unable to open database file" in record.error_message for record in failed)  # type: ignore[attr-defined]

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    rendered = [line for line in lines if line["event"] == "activity attempt failed"]
    assert [(line["activity_type"], line["attempt"]) for line in rendered] == [
        ("look_up_case", attempt) for attempt in range(1, ATTEMPTS + 1)
    ]
    assert [("exception" in line) for line in rendered] == [True] + [False] * (ATTEMPTS - 1)
    assert [line for line in lines if "exception" in line] == rendered[:1], "the one traceback is the first attempt's"
    assert all("\n" not in line["error_message"] for line in rendered)
