"""The SDK covers every command of the workflows, the door's routes name them as the SDK does, and docs/sdk.md is
the reference its docstrings render."""

from __future__ import annotations

from temporalio import workflow

from caseloop import sync
from caseloop.sdk import cases, handoffs
from caseloop.sdk.cases import CaseHandle
from caseloop.sdk.handoffs import HandoffHandle
from caseloop.sdk.reference import DOCUMENT, render
from schemas.case.commands import CASE_COMMANDS
from schemas.handoff import HANDOFF_COMMANDS
from workflows.case.workflow import CaseWorkflow
from workflows.handoff.entity import HandoffWorkflow


def updates_of(definition: type) -> set[str]:
    found = workflow._Definition.from_class(definition)
    assert found is not None
    return {name for name in found.updates if name is not None}


def test_one_method_per_command_of_each_workflow() -> None:
    assert set(cases.COMMANDS) == updates_of(CaseWorkflow)
    assert set(handoffs.COMMANDS) == updates_of(HandoffWorkflow)
    assert {verb.replace("-", "_") for verb in CASE_COMMANDS} == set(cases.COMMANDS)
    assert set(handoffs.VERBS.values()) == set(HANDOFF_COMMANDS)
    for name in cases.COMMANDS:
        assert callable(getattr(CaseHandle, name)) and callable(getattr(sync.CaseHandle, name))
        assert getattr(CaseHandle, name).__doc__, f"CaseHandle.{name} has no docstring"
    for name in handoffs.COMMANDS:
        assert callable(getattr(HandoffHandle, name)) and callable(getattr(sync.HandoffHandle, name))


def test_the_api_reference_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "run: python -m caseloop.sdk.reference > docs/sdk.md"
