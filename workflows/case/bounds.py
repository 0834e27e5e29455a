"""How big a case may grow in Temporal: its state is the continue-as-new input, which must stay under 2 MB.

The timeline window is the one part the store holds too (the audit trail), so it is what gives way.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case.state import CaseState, CaseWorkflowInput

# Entries and command ids kept however tight the state gets: enough for a reader's context and a client's retry.
FLOOR = 10


def size(state: CaseState) -> int:
    """The bytes of the continue-as-new input the state makes (before the codec)."""
    return len(CaseWorkflowInput(registration=state.registration, state=state).model_dump_json().encode())


def fit(state: CaseState) -> int:
    """Drops the oldest timeline entries, then the oldest remembered command ids, until the continue-as-new input
    fits the policy's `state_bytes`; returns its size. Orders, comments and extensions are capped by the rules."""
    most = state.registration.policy.state_bytes
    now = size(state)
    for kept in (state.timeline, state.applied):
        dropped = freed = 0
        while now - freed > most and len(kept) - dropped > FLOOR:
            freed += len(kept[dropped].model_dump_json().encode()) + 1  # the entry and its comma
            dropped += 1
        if dropped:
            del kept[:dropped]
            now = size(state)
    return now
