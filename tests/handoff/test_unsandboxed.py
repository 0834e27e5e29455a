"""Hand-offs under the worker as it runs in service, without the SDK's sandbox (workers/worker.py: workflow_runner).
The suite's other workers run sandboxed (tests/conftest.py). Each representative hand-off here runs unsandboxed,
then replays in the SDK's full sandbox, and leaves the modules that all instances share as they were."""

from __future__ import annotations

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from activities.gateway.webhook_secrets import secret_env_name
from tests.handoff.conftest import HANDOFF_WORKFLOWS, Rig
from tests.handoff.test_replay import RECORDED, SCENARIOS, receiver_script  # noqa: F401 (`receiver_script`)
from tests.joint.conftest import SECRET as ITEM_SECRET
from tests.joint.conftest import SECRET_REF as ITEM_SECRET_REF
from tests.support.shared_state import changed_since, held_by_workflow_modules


@pytest.fixture(autouse=True)
def unsandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rig's worker reads its settings from the environment: the service's default, no sandbox."""
    monkeypatch.setenv("CASELOOP_WORKFLOW_SANDBOX", "false")


@pytest.mark.parametrize("scenario", RECORDED)
async def test_handoffs_run_unsandboxed_as_the_sandbox_would_and_share_no_state(
    rig: Rig, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rig.worker is not None and isinstance(rig.worker.config()["workflow_runner"], UnsandboxedWorkflowRunner)
    monkeypatch.setenv(secret_env_name(ITEM_SECRET_REF), ITEM_SECRET)  # the verified scenario's item
    before = held_by_workflow_modules()
    ids = await SCENARIOS[scenario](rig)
    sandboxed = Replayer(workflows=HANDOFF_WORKFLOWS, data_converter=pydantic_data_converter)
    for workflow_id in ids:
        await sandboxed.replay_workflow(await rig.client.get_workflow_handle(workflow_id).fetch_history())
    assert changed_since(before) == set(), "workflow code changed module state that every instance shares"
