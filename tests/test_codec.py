"""Payload encryption: with a key, Temporal's history holds ciphertext only, and the worker still runs cases."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from caseloop.direct import CaseClient  # the trusted in-cluster transport: it holds the payload key
from schemas.case.stages import CaseStage
from tests.support.department_world import sample_store, target_of
from workers.codec import ENCODING
from workers.resources import open_resources
from workers.settings import Settings
from workers.worker import build_worker


async def test_history_holds_only_ciphertext(dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    store_url = await sample_store(tmp_path)
    marker = f"marker-{uuid.uuid4().hex}"  # stands for the personal data a case title may hold
    async with (
        await CaseClient.connect(
            Settings(_env_file=None),  # type: ignore[call-arg]
            target=target_of(dev_env),
            encryption_key=key,
            task_queue=task_queue,
            system="SQ-FGW",
        ) as client,
        open_resources(Settings(store_url=store_url, encryption_key=key)) as resources,
    ):
        async with build_worker(client.temporal, resources, task_queue):
            case = await client.launch(
                case_number="XM-SECRET-1",
                matter_code="SQ-XM-SPSX",
                locality_code="SQ-SCQ",
                title=marker,
                coordinator="SQ-YSB",
            )
            view = await case.state()
    assert view.stage is CaseStage.REGISTERED
    plain = Client(dev_env.client.service_client, namespace=dev_env.client.namespace)
    history = await plain.get_workflow_handle(view.case_id).fetch_history()
    assert marker not in history.to_json(), "the title never reaches Temporal in clear"
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
