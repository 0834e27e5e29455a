"""A worker in service runs workflow code without the SDK's sandbox (`CASELOOP_WORKFLOW_SANDBOX`, off by default;
workers/worker.py: workflow_runner). The test suite's other workers all run sandboxed. Here every representative case
runs unsandboxed, and then:

- its history replays in the SDK's full sandbox, with no module passed through: the unsandboxed run made the same
  decisions that a sandboxed one would make, and it made no call that the sandbox refuses;
- the modules that every instance now shares hold what they held before: no instance left state behind for the
  next one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from schemas.case.state import CaseRegistration
from services.registry.importer import import_registry
from tests.case.conftest import REGISTRY
from tests.case.driver import Driver
from tests.case.parties import registration
from tests.case.scenarios import SCENARIOS
from tests.support.shared_state import changed_since, held_by_workflow_modules
from workers.resources import Resources
from workers.settings import Settings
from workers.worker import build_worker
from workflows.case.workflow import CaseWorkflow


class OneNumberPerScenario(Driver):
    """The scenarios share one worker and task queue, and each needs a case of its own."""

    number = ""

    def registration(self, **changes: object) -> CaseRegistration:
        return registration(**{"case_number": self.number, **changes})


@pytest.fixture
async def unsandboxed_worker(
    ts_env: WorkflowEnvironment, resources: Resources, task_queue: str
) -> AsyncIterator[Worker]:
    """The production worker as it runs in service: the defaults' runner, every workflow and activity."""
    await import_registry(resources.sessions, [REGISTRY])
    unsandboxed = resources.settings.model_copy(update={"workflow_sandbox": False})
    async with build_worker(ts_env.client, dataclasses.replace(resources, settings=unsandboxed), task_queue) as worker:
        yield worker


def test_service_runs_unsandboxed_and_tests_sandboxed() -> None:
    assert Settings.model_fields["workflow_sandbox"].default is False
    assert Settings(_env_file=None).workflow_sandbox, "tests/conftest.py runs the suite's workers sandboxed"


async def test_cases_run_unsandboxed_as_the_sandbox_would_and_share_no_state(
    unsandboxed_worker: Worker, driver: Driver
) -> None:
    assert isinstance(unsandboxed_worker.config()["workflow_runner"], UnsandboxedWorkflowRunner)
    before = held_by_workflow_modules()
    scenarios = OneNumberPerScenario(driver.env, driver.task_queue, driver.sessions)
    histories = []
    try:
        for name, run in SCENARIOS.items():
            scenarios.number = f"{driver.task_queue[3:12]}-{name[:6]}"
            histories.append(await (await run(scenarios)).fetch_history())
    finally:
        await scenarios.stop_all()
    sandboxed = Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)
    for history in histories:
        await sandboxed.replay_workflow(history)
    assert changed_since(before) == set(), "workflow code changed module state that every instance shares"
