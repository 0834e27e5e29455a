"""What a hand-off transition writes to the store in one activity: every write it owes, and what to count."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.handoff.state import StoreWrite
from schemas.orders import Escalation

# The most writes one store call carries; a long outage's backlog goes in several calls, oldest first.
WRITES_PER_CALL = 100


class HandoffWrites(BaseModel):
    """The writes a transition owes (oldest first), and for the domain metrics the commands applied and the
    escalation rungs reached in it."""

    handoff_id: str
    writes: list[StoreWrite] = Field(max_length=WRITES_PER_CALL)
    commands: list[str] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)


class HandoffWritesRecorded(BaseModel):
    written: int
    entries: int = Field(description="audit entries this call wrote (0: a retry found them written)")
