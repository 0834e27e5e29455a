"""`caseloop worker` against an existing Temporal target registers what the namespace lacks and runs workflows;
in production it refuses to start without what production requires."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from schemas import search_attributes
from workers.binaries import temporal_cli
from workers.client import ensure_search_attributes


async def test_missing_search_attributes_are_registered_once() -> None:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(temporal_cli()))
    try:
        added = await ensure_search_attributes(env.client, "default")
        assert added == sorted(key.name for key in search_attributes.ALL)
        assert await ensure_search_attributes(env.client, "default") == []
        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        assert search_attributes.NEXT_DUE_AT.name in listed.custom_attributes
    finally:
        await env.shutdown()


def test_worker_says_which_target_it_cannot_reach() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOOP_")}
    env.update(CASELOOP_TEMPORAL_TARGET="127.0.0.1:1", CASELOOP_METRICS_PORT="0", CASELOOP_SDK_METRICS_PORT="0")
    result = subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 4
    assert "caseloop: Temporal at 127.0.0.1:1 cannot be reached: nothing listens there" in result.stderr
    assert "error trying to connect" not in result.stderr.splitlines()[-1], "the transport's text is only logged"


def test_worker_refuses_production_without_encryption() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELOOP_")}
    env.update(
        CASELOOP_ENVIRONMENT="production",
        CASELOOP_STORE_URL="postgresql+asyncpg://caseloop@127.0.0.1:1/caseloop",
        CASELOOP_LOG_FORMAT="json",
        CASELOOP_API_KEY_PEPPERS="p0:" + base64.b64encode(os.urandom(32)).decode(),
        CASELOOP_TEMPORAL_TARGET="127.0.0.1:1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "the settings are refused: encryption_key (or encryption_keys) must be set in production" in result.stderr
    assert "Traceback" not in result.stderr
