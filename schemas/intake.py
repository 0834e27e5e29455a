"""Intake channels (12345, 好差評, the 不好辦 window, prepaid-card complaints) as the registry and a case know them.

A channel is a registry entry: the department whose credential feeds it (and whose system is the cases' initiating
system), the tables that map its own categories and areas to matters and localities, where a record that maps to
nothing lands for the coordinator to place by hand, and whether its system hears of each case's progress. A case
carries its channel and the channel's own record number; both are codes, never personal data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from schemas.text import FREE_TEXT, Code


class ChannelKind(StrEnum):
    """Which record shape a channel sends; each kind has its own intake route."""

    HOTLINE = "hotline"  # 12345 work orders
    RATING = "rating"  # 好差評: bad and very bad ratings of a service
    WINDOW = "window"  # the 不好辦 window of the service halls
    PREPAID_CARD = "prepaid_card"  # prepaid-card complaints and one-click claims (一鍵維權)


class ChannelInfo(BaseModel):
    """A channel as the registry holds it."""

    code: str
    name: str
    kind: ChannelKind
    department: str = Field(description="whose credential feeds the channel: the cases' initiating system")
    pushes: bool = Field(description="the channel's system gets a push at each event its requester hears of")
    categories: dict[str, str] = Field(
        description="the channel's category (service item, hour class, claim kind) → matter code"
    )
    localities: dict[str, str] = Field(description="the channel's area or hall code → locality code")
    address_localities: dict[str, str] = Field(
        description="text an address contains (a district's name) → locality code; tried after the area code"
    )
    unplaced_matter: str = Field(description="the matter a record that maps to nothing is launched under")
    unplaced_locality: str = Field(description="the locality such a record is launched to")
    active: bool


class RequesterEvent(StrEnum):
    """What the requester and the channel's system hear of."""

    LAUNCHED = "launched"
    COMMITTED = "committed"
    PROGRESS = "progress"
    RATING_REQUEST = "rating_request"
    RATED = "rated"  # to the channel only: the rating system takes a case's own follow-up rating back
    CLOSED = "closed"


class CaseChannel(BaseModel):
    """Where a case came from, as its registration carries it: codes and flags only."""

    code: Code = Field(description="the channel's registry code, e.g. 12345")
    reference: Code = Field(description="the channel's own record number, e.g. the work-order number")
    pushes: bool = Field(False, description="the channel's system gets a push at each requester event")
    requester: bool = Field(False, description="a requester contact with consent is on file (in the store, sealed)")
    placed: bool = Field(True, description="false: the mapping failed and the coordinator places the case by hand")
    unplaced_reason: Annotated[str | None, Field(max_length=500), FREE_TEXT] = Field(
        None, description="why the mapping failed"
    )
    deadline: AwareDatetime | None = Field(
        None, description="the channel's own deadline for the record (a 12345 work order's): the case is timed by it"
    )
