"""The registry (兩庫一單) as workflows see it: matters, departments, their limits, and what routing resolves.

Roster contacts are personal data and never appear here: the SMS adapter reads them from the store itself.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from schemas.clock import ClockUnit
from schemas.text import IDENTIFIER

# A code a lookup asks the registry for: the registry's own codes are ASCII, so anything else finds nothing, but a
# control or format character is refused before it reaches a query.
LookupCode = Annotated[str, Field(min_length=1, max_length=64), IDENTIFIER]

# Limits are counted in the legal clock's units, so a matter's limit goes to the clock as it is.
LimitUnit = ClockUnit


class Limit(BaseModel):
    amount: Decimal = Field(gt=0, max_digits=10, decimal_places=2, description="e.g. 0.5 for a half-hour item")
    unit: LimitUnit

    @model_validator(mode="after")
    def _whole_days(self) -> Limit:
        if self.unit.counts_days and self.amount != self.amount.to_integral_value():
            raise ValueError(f"a limit in {self.unit.value} is a whole number, not {self.amount}")
        return self

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.unit.value}"


class MatterKind(StrEnum):
    CASE = "case"  # a problem closed by launch, commit, supervise, close (lifecycle A)
    APPROVAL_HANDOFF = "approval_handoff"  # 審批銜接: an approval result feeds the next approval
    APPROVAL_SUPERVISION = "approval_supervision"  # 審管聯動: approval ⇄ supervision, both loops
    REGISTRATION_NOTICE = "registration_notice"  # 雙告知: a registration tells the permit departments

    @property
    def is_handoff(self) -> bool:
        return self is not MatterKind.CASE


class HandoffDirection(StrEnum):
    APPROVAL_TO_SUPERVISION = "approval_to_supervision"  # loop 1
    SUPERVISION_TO_APPROVAL = "supervision_to_approval"  # loop 2: findings pushed back
    APPROVAL_TO_APPROVAL = "approval_to_approval"
    REGISTRATION_TO_PERMIT = "registration_to_permit"


class ItemKind(StrEnum):
    """The two halves of the department-function catalogue (部門職能庫)."""

    APPROVAL = "approval"  # an approval (power) item the department decides
    SUPERVISION = "supervision"  # a supervision item on the monitoring catalogue


# The kind of item the receiving side of a hand-off must hold, by direction.
RECEIVER_ITEM_KIND: dict[HandoffDirection, ItemKind] = {
    HandoffDirection.APPROVAL_TO_SUPERVISION: ItemKind.SUPERVISION,
    HandoffDirection.SUPERVISION_TO_APPROVAL: ItemKind.APPROVAL,
    HandoffDirection.APPROVAL_TO_APPROVAL: ItemKind.APPROVAL,
    HandoffDirection.REGISTRATION_TO_PERMIT: ItemKind.APPROVAL,
}

# Which directions each hand-off kind allows.
DIRECTIONS_OF_KIND: dict[MatterKind, frozenset[HandoffDirection]] = {
    MatterKind.CASE: frozenset(),
    MatterKind.APPROVAL_HANDOFF: frozenset({HandoffDirection.APPROVAL_TO_APPROVAL}),
    MatterKind.APPROVAL_SUPERVISION: frozenset(
        {HandoffDirection.APPROVAL_TO_SUPERVISION, HandoffDirection.SUPERVISION_TO_APPROVAL}
    ),
    MatterKind.REGISTRATION_NOTICE: frozenset({HandoffDirection.REGISTRATION_TO_PERMIT}),
}


class TriggerEvent(StrEnum):
    """What starts work on a matter; hand-off matters are matched on (trigger, trigger item)."""

    ISSUE_RAISED = "issue_raised"  # someone brings a problem (cases)
    CASE_CLOSED = "case_closed"  # an approval case is decided (辦結)
    ENTERPRISE_REGISTERED = "enterprise_registered"
    ENTERPRISE_CHANGED = "enterprise_changed"
    PENALTY_DECIDED = "penalty_decided"
    LICENCE_REVOKED = "licence_revoked"
    PLEDGE_FOUND_FALSE = "pledge_found_false"  # 承諾不實


class ClaimMode(StrEnum):
    EXPLICIT = "explicit"  # the receiver claims within the claim limit
    ON_PUSH = "on_push"  # 推送即認領: delivery is the claim


class MatterStep(StrEnum):
    """Steps that carry a per-matter limit; which ones apply depends on the matter kind."""

    ACCEPT = "accept"
    SIGN = "sign"
    SIGN_URGENT = "sign_urgent"
    RETURN = "return"  # the window in which a party may hand an assignment or push back
    REROUTE = "reroute"
    COMMIT = "commit"
    PROGRESS_REPORT = "progress_report"
    EXTENSION_DECISION = "extension_decision"
    REVIEW = "review"
    FOLLOW_UP = "follow_up"
    REOPEN_WINDOW = "reopen_window"
    PUSH = "push"
    CLAIM = "claim"
    ACT = "act"
    FEEDBACK = "feedback"
    ACKNOWLEDGE = "acknowledge"
    END_TO_END = "end_to_end"
    PUSH_BACK = "push_back"


CASE_STEPS = frozenset(
    {
        MatterStep.ACCEPT,
        MatterStep.SIGN,
        MatterStep.SIGN_URGENT,
        MatterStep.RETURN,
        MatterStep.REROUTE,
        MatterStep.COMMIT,
        MatterStep.PROGRESS_REPORT,
        MatterStep.EXTENSION_DECISION,
        MatterStep.REVIEW,
        MatterStep.FOLLOW_UP,
        MatterStep.REOPEN_WINDOW,
    }
)
HANDOFF_STEPS = frozenset(
    {
        MatterStep.PUSH,
        MatterStep.CLAIM,
        MatterStep.RETURN,
        MatterStep.REROUTE,
        MatterStep.ACT,
        MatterStep.FEEDBACK,
        MatterStep.ACKNOWLEDGE,
        MatterStep.END_TO_END,
        MatterStep.PUSH_BACK,
    }
)


def steps_of(kind: MatterKind) -> frozenset[MatterStep]:
    return CASE_STEPS if kind is MatterKind.CASE else HANDOFF_STEPS


class DepartmentLevel(StrEnum):
    CITY = "city"
    COUNTY = "county"
    DISTRICT = "district"
    ZONE = "zone"  # a park or new area with its own management committee (功能區)


class PartyRole(StrEnum):
    """A department's part in a matter."""

    INITIATOR = "initiator"  # may raise the case or sends the push
    LEAD = "lead"  # the responsible municipal department of a case (牽頭部門)
    COLLABORATOR = "collaborator"  # co-unit of a case, or a fixed receiver of a hand-off


class CaseRole(StrEnum):
    """Who the registry names to run a matter's cases: per matter, per locality, or registry-wide."""

    COORDINATOR = "coordinator"  # the collaboration centre that accepts, rules and reviews; routes hand-offs
    SUPERVISOR = "supervisor"  # a supervision office (督查) of cases


class RosterRole(StrEnum):
    LIAISON = "liaison"
    BACKUP = "backup"


class DeliveryChannel(StrEnum):
    WEBHOOK = "webhook"
    INBOX = "inbox"  # no endpoint: pushes wait in the store until the department reads them


class DepartmentInfo(BaseModel):
    code: str
    name: str
    level: DepartmentLevel
    parent_code: str | None
    is_locality: bool = Field(description="a county/district government or a zone committee: a dual-launch party")
    locality_code: str | None = Field(description="the locality this department belongs to (itself if one)")
    delivery: DeliveryChannel
    active: bool


class MatterInfo(BaseModel):
    code: str
    name: str
    kind: MatterKind
    direction: HandoffDirection | None
    theme: str | None
    trigger: TriggerEvent
    trigger_item: str | None = Field(description="the item whose event triggers the matter; None: any")
    target_item: str | None = Field(description="the item the receivers hold; hand-offs are routed by it")
    claim_mode: ClaimMode
    card_profile: str = Field(description="the name of one of the legal clock's card profiles (CardProfileName)")
    limits: dict[MatterStep, Limit]
    statutory_limit: Limit | None
    extension_cap: Limit | None
    max_extensions: int
    initiators: list[str]
    lead: str | None
    collaborators: list[str]
    active: bool
    coordinator: str | None = Field(
        None, description="the matter's own coordinator; None: its locality's or the default"
    )
    supervisors: list[str] = Field(
        default_factory=list, description="the matter's own supervision offices; empty: its locality's or the default"
    )


class DepartmentQuery(BaseModel):
    code: LookupCode


class MatterQuery(BaseModel):
    code: LookupCode


class CasePartiesQuery(BaseModel):
    matter_code: LookupCode
    locality_code: LookupCode = Field(description="where the project or problem is")


class LeadersRung(BaseModel):
    """The escalation ladder's last rung, after the admonitory talk: the case is reported to the city leaders' joint
    meeting (市領導會辦). The registry names it for a matter or a locality (the matter's wins)."""

    scope: str = Field(description="what named it: matter:<code> or locality:<code>")
    after: Limit | None = Field(
        None, description="how long after the admonitory talk the case goes to the meeting; None: the case policy's"
    )
    limit: Limit | None = Field(None, description="the outcome is due this long after; None: the case policy's")


class CaseParties(BaseModel):
    """Who a case is dual-launched to: the lead department and the locality, plus the matter's co-units."""

    matter: MatterInfo
    lead: DepartmentInfo
    locality: DepartmentInfo
    co_units: list[DepartmentInfo]
    leaders_rung: LeadersRung | None = Field(None, description="the ladder's last rung, if the registry names one")


class LaunchRoles(BaseModel):
    """Who may launch a case of a matter in a locality, and who coordinates and supervises it: the registry decides,
    not the launcher."""

    initiators: list[str] = Field(description="the departments that may launch the matter")
    coordinator: str = Field(description="from the matter, else the locality (or its parents), else the defaults")
    supervisors: list[str] = Field(description="found the same way as the coordinator; may be empty")


class ItemDepartmentsQuery(BaseModel):
    item_kind: ItemKind
    item_code: LookupCode
    locality_code: LookupCode | None = Field(None, description="prefer departments of this locality")
    exclude: list[str] = Field(default_factory=list, description="departments that returned it as not their duty")


class ItemDepartments(BaseModel):
    item_kind: ItemKind
    item_code: str
    departments: list[DepartmentInfo] = Field(description="empty when no active department holds the item")
    in_locality: bool = Field(description="the departments belong to the asked locality (else: city level)")


class HandoffRouteQuery(BaseModel):
    matter_code: LookupCode
    locality_code: LookupCode | None = Field(None, description="where the triggering case was handled")
    exclude: list[str] = Field(default_factory=list, description="departments that returned the push")


class HandoffRoute(BaseModel):
    matter: MatterInfo
    receivers: list[DepartmentInfo] = Field(description="empty: the coordinator must route it by hand")
    routed_by_function: bool = Field(description="receivers come from the function catalogue, not the matter")


class TriggerQuery(BaseModel):
    trigger: TriggerEvent
    item_code: str | None = None


class MatchedMatters(BaseModel):
    matters: list[MatterInfo]


class RegistryProblem(BaseModel):
    """One reason an import was refused: where in which file, which field, and the rule it breaks."""

    file: str
    where: str = Field(description="a path like departments[3].roster[0] or a CSV row like row 5")
    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.field}: {self.rule}"


class SectionSummary(BaseModel):
    """Counts per record; for functions and roster the record is one department's whole list."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return self.created + self.updated > 0


class ImportSummary(BaseModel):
    files: list[str]
    departments: SectionSummary = Field(default_factory=SectionSummary)
    matters: SectionSummary = Field(default_factory=SectionSummary)
    functions: SectionSummary = Field(default_factory=SectionSummary)
    roster: SectionSummary = Field(default_factory=SectionSummary)
    defaults: SectionSummary = Field(default_factory=SectionSummary)
    channels: SectionSummary = Field(default_factory=SectionSummary)
    shared_items: SectionSummary = Field(default_factory=SectionSummary)
    deliveries: SectionSummary = Field(default_factory=SectionSummary)
    joint_matters: SectionSummary = Field(default_factory=SectionSummary)

    @property
    def changed(self) -> bool:
        sections = (
            self.departments,
            self.matters,
            self.functions,
            self.roster,
            self.defaults,
            self.channels,
            self.shared_items,
            self.deliveries,
            self.joint_matters,
        )
        return any(s.changed for s in sections)
