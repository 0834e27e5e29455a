"""The worker's sandbox compiles a workflow module once per process, not once per workflow instance, and still runs
the module afresh in each instance (workers/sandbox_code.py, bench/README.md)."""

from __future__ import annotations

import importlib._bootstrap_external as bootstrap
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow

import workflows.case
from workers.sandbox_code import CompiledCodeFinder, _CachedSourceLoader
from workers.worker import SHARED_WITH_WORKFLOWS, workflow_runner
from workflows.case.workflow import CaseWorkflow


@pytest.fixture
def compiled() -> Iterator[list[str]]:
    """The source files compiled while the test runs."""
    paths: list[str] = []
    original = bootstrap.SourceLoader.source_to_code

    def spy(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        paths.append(str(path))
        return original(self, data, path, *args, **kwargs)

    bootstrap.SourceLoader.source_to_code = spy  # type: ignore[method-assign]
    try:
        yield paths
    finally:
        bootstrap.SourceLoader.source_to_code = original  # type: ignore[method-assign]


async def test_a_new_case_instance_compiles_nothing(compiled: list[str]) -> None:
    runner = workflow_runner()
    definition = workflow._Definition.from_class(CaseWorkflow)
    runner.prepare_workflow(definition)  # a first instance may compile (or read __pycache__)
    first = len(compiled)
    for _ in range(3):
        runner.prepare_workflow(definition)  # each one runs workflows/case/workflow.py in a sandbox of its own
    assert compiled[first:] == [], f"later instances compiled {compiled[first:]}"
    # Where bytecode is written (`make test` keeps it) the count above holds without the finder too: the module is
    # found through the caching loader all the same.
    finders = [finder for finder in sys.meta_path if isinstance(finder, CompiledCodeFinder)]
    assert len(finders) == 1, "the runner installs the finder once"
    spec = finders[0].find_spec("workflows.case.workflow", list(workflows.case.__path__))
    assert spec is not None and isinstance(spec.loader, _CachedSourceLoader)


def test_the_case_rules_are_shared_not_reimported() -> None:
    # channel_deadline, meetings and verification were imported afresh (and compiled) for every case.
    for rules in ("channel_deadline", "meetings", "verification"):
        assert f"workflows.case.{rules}" in SHARED_WITH_WORKFLOWS


def test_a_changed_file_is_compiled_again(tmp_path: Path) -> None:
    source = tmp_path / "rules_for_the_test.py"
    source.write_text("ANSWER = 1\n")
    loader = _CachedSourceLoader("rules_for_the_test", str(source))
    code = loader.get_code("rules_for_the_test")
    assert loader.get_code("rules_for_the_test") is code  # kept
    source.write_text("ANSWER = 2\n")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = loader.get_code("rules_for_the_test")
    assert changed is not code
    namespace: dict[str, Any] = {}
    exec(changed, namespace)
    assert namespace["ANSWER"] == 2
