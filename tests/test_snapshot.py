"""The preview's copy of a workflow's state (workflows/snapshot.py): equal to what `copy.deepcopy` makes, sharing
nothing mutable with the original, validating nothing."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from schemas.case.state import CaseState, CaseWorkflowInput
from schemas.handoff import HandoffStage, HandoffState
from workflows.snapshot import detached_copy

HISTORIES = Path(__file__).parent / "case" / "histories"


def continued_state() -> CaseState:
    """The state a long case carried into its next run (10 KB of clocks, parties, assignments and outbox)."""
    events = json.loads((HISTORIES / "continued.json").read_text())["events"]
    [event] = [event for event in events if event["eventType"].endswith("CONTINUED_AS_NEW")]
    [payload] = event["workflowExecutionContinuedAsNewEventAttributes"]["input"]["payloads"]
    return CaseWorkflowInput.model_validate_json(base64.b64decode(payload["data"])).state


def mutable_parts(value: Any) -> list[Any]:
    """Every list, dict and model in a tree, the root first."""
    parts: list[Any] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, BaseModel):
            parts.append(item)
            pending.extend(item.__dict__.values())
        elif isinstance(item, list | dict):
            parts.append(item)
            pending.extend(item.values() if isinstance(item, dict) else item)
    return parts


def test_a_carried_case_state_copies_equal_and_shares_nothing_mutable() -> None:
    state = continued_state()
    copied = detached_copy(state)
    assert copied == copy.deepcopy(state) == state
    assert copied.model_fields_set == state.model_fields_set
    assert copied.model_dump_json() == state.model_dump_json()
    originals = {id(part) for part in mutable_parts(state)}
    assert len(mutable_parts(copied)) == len(originals) > 100
    assert not originals & {id(part) for part in mutable_parts(copied)}, "a list, dict or model is shared"


def test_changing_the_copy_leaves_the_original_as_it_was() -> None:
    state = continued_state()
    before = state.model_dump_json()
    copied = detached_copy(state)
    key = next(iter(copied.clocks))
    copied.clocks[key].sla.rungs.clear()
    copied.clocks.pop(key)
    copied.assignments[0].department = "SOMEONE-ELSE"
    copied.outbox.pushes.clear()
    copied.registration.supervisors.append("SQ-NEW")
    copied.seq += 1
    assert state.model_dump_json() == before


def test_a_handoff_state_copies_equal() -> None:
    state = HandoffState(stage=HandoffStage.PUSHED, receiver_code="SQ-SCJGJ", version=3)
    state.handled_commands.append("id-0")
    copied = detached_copy(state)
    assert copied == state and copied.handled_commands is not state.handled_commands


def test_a_state_that_outgrew_its_bounds_copies_as_it_is() -> None:
    # In flight, a state may hold more than a bound allows (it is validated only when a run starts); the copy does
    # not validate it again, so the transition goes on as it did with model_copy(deep=True).
    state = continued_state()
    state.registration.supervisors.extend(f"SQ-{number:03d}" for number in range(30))
    assert detached_copy(state).registration.supervisors == state.registration.supervisors


class Colour(Enum):
    RED = "red"


class Leaf(BaseModel):
    names: list[str] = Field(default_factory=list, max_length=1)
    at: datetime = datetime(2026, 12, 3, tzinfo=UTC)
    colour: Colour = Colour.RED
    amount: Decimal = Decimal("1.5")


class Tree(BaseModel):
    model_config = ConfigDict(extra="allow")

    left: Leaf
    right: Leaf
    pair: tuple[int, list[str]] = (1, [])
    tags: set[str] = Field(default_factory=set)
    _notes: list[str] = PrivateAttr(default_factory=list)


def test_an_object_held_twice_is_copied_once_and_the_rest_of_a_model_goes_along() -> None:
    leaf = Leaf()
    tree = Tree(left=leaf, right=leaf, extra_field=["x"], tags={"a"})
    tree.left.names.append("two")  # over the bound: not validated again
    tree._notes.append("private")
    copied = detached_copy(tree)
    assert copied.left is copied.right and copied.left is not leaf, "aliasing kept, as copy.deepcopy keeps it"
    assert copied.left.names == ["two"] and copied.left.colour is Colour.RED and copied.left.at == leaf.at
    assert (
        copied.model_extra == {"extra_field": ["x"]}
        and copied.model_extra["extra_field"] is not tree.model_extra["extra_field"]
    )
    assert copied._notes == ["private"] and copied._notes is not tree._notes
    assert copied.pair == tree.pair and copied.pair[1] is not tree.pair[1]
    assert copied.tags == {"a"} and copied.tags is not tree.tags
    assert copied.model_fields_set == tree.model_fields_set
