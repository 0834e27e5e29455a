"""schemathesis against the live door over real HTTP: bounded examples per operation, valid and invalid input, no
5xx and no answer outside its documented schema, status and media type.

Hypothesis runs in a thread of its own: its calls are blocking, and the door and the worker answer on this loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.door.conftest import COORDINATOR, DoorWorld

EXAMPLES = 6  # per operation and generation mode
BUDGET_SECONDS = 90.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz(url: str, key: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {key}"}
    failures: list[str] = []
    calls = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as error:  # every failure is reported, not just the first
                failures.append(f"{operation.label} ({mode.value}): {error}")
        assert time.monotonic() - started < BUDGET_SECONDS, "schemathesis ran over its time budget"
    return failures, calls


async def test_schemathesis_finds_no_server_error_and_no_schema_breach(door_world: DoorWorld) -> None:
    failures, calls = await asyncio.to_thread(fuzz, door_world.url, door_world.keys[COORDINATOR])
    assert not failures, "\n\n".join(failures)
    assert calls >= 300, f"only {calls} requests: the operations were not all exercised"
