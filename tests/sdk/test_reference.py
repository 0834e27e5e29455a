"""The SDK covers every command of the workflows, and docs/sdk.md is the reference its docstrings render."""

from __future__ import annotations

from temporalio import workflow

from caseloop import sync
from caseloop.direct import cases, handoffs
from caseloop.direct.cases import CaseHandle
from caseloop.direct.handoffs import HandoffHandle
from caseloop.direct.reference import DOCUMENT, render
from workflows.case.workflow import CaseWorkflow
from workflows.handoff.entity import HandoffWorkflow


def updates_of(definition: type) -> set[str]:
    found = workflow._Definition.from_class(definition)
    assert found is not None
    return {name for name in found.updates if name is not None}


def test_one_method_per_command_of_each_workflow() -> None:
    assert set(cases.COMMANDS) == updates_of(CaseWorkflow)
    assert set(handoffs.COMMANDS) == updates_of(HandoffWorkflow)
    for name in cases.COMMANDS:
        assert callable(getattr(CaseHandle, name)) and callable(getattr(sync.CaseHandle, name))
        assert getattr(CaseHandle, name).__doc__, f"CaseHandle.{name} has no docstring"
    for name in handoffs.COMMANDS:
        assert callable(getattr(HandoffHandle, name)) and callable(getattr(sync.HandoffHandle, name))


def test_the_api_reference_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "run: python -m caseloop.direct.reference > docs/sdk.md"
