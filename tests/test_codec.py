"""Payload encryption: with a key, Temporal's history holds ciphertext only, and the worker still runs cases."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from schemas.health import HealthCheckInput, HealthReport
from workers.codec import ENCODING, data_converter
from workers.resources import Resources
from workers.settings import Settings
from workers.worker import build_worker
from workflows.health import HealthCheckWorkflow


async def test_history_holds_only_ciphertext(
    dev_env: WorkflowEnvironment, resources: Resources, task_queue: str
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    encrypted = Client(dev_env.client.service_client, namespace="default", data_converter=data_converter(key))
    secret_marker = f"marker-{uuid.uuid4().hex}"
    workflow_id = f"health-{uuid.uuid4()}"
    async with build_worker(encrypted, resources, task_queue):
        report = await encrypted.execute_workflow(
            HealthCheckWorkflow.run,
            HealthCheckInput(check_id=secret_marker[:64]),
            id=workflow_id,
            task_queue=task_queue,
            result_type=HealthReport,
        )
    assert report.check_id == secret_marker[:64]
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    raw = history.to_json()
    assert secret_marker not in raw
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING


@pytest.mark.parametrize(
    ("key", "rule"),
    [("not base64!", "must be base64"), (base64.b64encode(b"short").decode(), "must decode to 32 bytes")],
)
def test_a_bad_key_is_refused_at_startup(key: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as raised:
        Settings(encryption_key=key)
    assert "encryption_key" in str(raised.value)
