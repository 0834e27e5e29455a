"""With a key, failure messages travel encrypted: a failed activity's, a failed update's and a rejected update's
message stay out of Temporal's history and off the wire in clear, while the project's clients read them whole."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import pytest
    from temporalio.client import Client, WorkflowUpdateFailedError
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from tests.support.department_world import target_of
    from workers.client import connect
    from workers.settings import Settings

# Stand for what a failure may quote: a name, an ID number.
ACTIVITY_SAYS = "no household record for 王秀英 350203199001011234"
HANDLER_SAYS = "the amendment names 李建國, who is not a party"
VALIDATOR_SAYS = "the applicant 張偉 is not on the roster"


@activity.defn(name="look_up_household")
async def look_up_household(applicant: str) -> None:
    raise ApplicationError(ACTIVITY_SAYS, type="NotFound", non_retryable=True)


@workflow.defn(name="FailureProbe")
class FailureProbe:
    """Fails an activity, then waits for an amendment; the amendment fails, and ends the run."""

    def __init__(self) -> None:
        self._amended = False

    @workflow.run
    async def run(self, applicant: str) -> str:
        try:
            await workflow.execute_activity(
                look_up_household,
                applicant,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            heard = "nothing"
        except ActivityError as error:
            heard = error.cause.message if isinstance(error.cause, ApplicationError) else str(error.cause)
        await workflow.wait_condition(lambda: self._amended)
        return heard

    @workflow.update
    async def amend(self, who: str) -> None:
        self._amended = True
        raise ApplicationError(HANDLER_SAYS, type="Rejected")

    @amend.validator
    def _party(self, who: str) -> None:
        if who == "stranger":
            raise ApplicationError(VALIDATOR_SAYS, type="Rejected")


async def test_failure_messages_never_reach_the_history_in_clear(dev_env: WorkflowEnvironment, task_queue: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        temporal_target=target_of(dev_env),
        encryption_key=base64.b64encode(os.urandom(32)).decode(),
        task_queue=task_queue,
    )
    client = await connect(settings)
    plain = Client(dev_env.client.service_client, namespace=dev_env.client.namespace)  # sees what the server keeps
    workflow_id = f"probe-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[FailureProbe], activities=[look_up_household]):
        handle = await client.start_workflow(FailureProbe.run, "someone", id=workflow_id, task_queue=task_queue)

        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await handle.execute_update(FailureProbe.amend, "stranger")
        assert _message(rejected.value) == VALIDATOR_SAYS, "the project's client reads the rejection whole"
        with pytest.raises(WorkflowUpdateFailedError) as rejected_around:
            await plain.get_workflow_handle(workflow_id).execute_update("amend", "stranger")
        assert _message(rejected_around.value) == "Encoded failure", "nor does it cross the wire in clear"

        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(FailureProbe.amend, "a party")
        assert _message(failed.value) == HANDLER_SAYS
        assert await handle.result() == ACTIVITY_SAYS, "the workflow reads the activity's message whole"

    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    events = history.to_json()
    for said in (ACTIVITY_SAYS, HANDLER_SAYS, VALIDATOR_SAYS, "王秀英", "350203199001011234", "李建國"):
        assert said not in events
    failures = [
        event.activity_task_failed_event_attributes.failure
        for event in history.events
        if event.HasField("activity_task_failed_event_attributes")
    ]
    assert [failure.message for failure in failures] == ["Encoded failure"]
    assert failures[0].encoded_attributes.metadata["encoding"] == b"binary/encrypted-aes256gcm"
    assert not failures[0].stack_trace


def _message(error: WorkflowUpdateFailedError) -> str:
    assert isinstance(error.cause, ApplicationError)
    return error.cause.message
