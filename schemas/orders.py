"""Supervision (督辦) in one vocabulary for cases and hand-offs: the orders' id scheme, `<subject id>.o<n>` with n
counting from 1 within the subject (hand-offs named theirs `<hand-off id>:order:<n>` before; those keep their ids),
the escalation rungs a department reaches, which both loops count in the same metric, and the push each rung of the
ladder sends, the same from either loop."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel

from schemas.clock import RungKind
from schemas.delivery import PushKind

# What the department's system is sent for each rung of the ladder after a missed deadline (its body names the rung).
LADDER_PUSHES: dict[RungKind, PushKind] = {
    RungKind.REMINDER_NOTICE: PushKind.REMINDER,
    RungKind.CIRCULAR: PushKind.CIRCULAR,
    RungKind.ADMONITORY_TALK: PushKind.REMINDER,
}


class LadderRung(BaseModel):
    """A rung of the escalation ladder a late joint step or delivery climbs after its card (reminder notice,
    supervision order, circular, admonitory talk): when it is due, and when it fired."""

    kind: RungKind
    at: AwareDatetime
    fired_at: AwareDatetime | None = None


class Escalation(BaseModel):
    """A rung of the escalation ladder a department reached, for the domain metrics."""

    department: str
    rung: RungKind


def order_number(number: int) -> str:
    """The order's id within its case or hand-off: o1, o2, …"""
    return f"o{number}"


def supervision_order_id(subject_id: str, local_id: str) -> str:
    """The order's id in the store and in pushes, unique across cases and hand-offs."""
    return f"{subject_id}.{local_id}"
