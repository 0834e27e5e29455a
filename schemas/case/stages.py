"""The enums of a case: its stages, the parties and their assignments, and its levels. Roles (schemas.actors) and
colours (schemas.cards) are shared with the hand-off and re-exported here for the case's modules."""

from __future__ import annotations

from enum import StrEnum

from schemas.actors import Role as Role
from schemas.cards import CardColour as CardColour
from schemas.cards import SlaColour as SlaColour


class CaseStage(StrEnum):
    """DESIGN.md §2: REGISTERED → ACCEPTED | REJECTED → LAUNCHED → AWAITING_COMMITMENT → IN_PROGRESS → … CLOSED."""

    REGISTERED = "registered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    LAUNCHED = "launched"
    AWAITING_COMMITMENT = "awaiting_commitment"
    IN_PROGRESS = "in_progress"
    SUSPENDED = "suspended"
    EXTENSION_PENDING = "extension_pending"
    CLOSURE_SUBMITTED = "closure_submitted"
    CLOSED = "closed"
    REOPENED = "reopened"
    TERMINATED = "terminated"

    @property
    def is_open(self) -> bool:
        return self not in (CaseStage.REJECTED, CaseStage.CLOSED, CaseStage.TERMINATED)


class PartyKind(StrEnum):
    """The part a department plays in a dual launch; its actors act in the role of the same name."""

    LEAD = "lead"
    LOCALITY = "locality"
    CO_UNIT = "co_unit"

    @property
    def role(self) -> Role:
        return Role(self.value)


class AssignmentStatus(StrEnum):
    PENDING_SIGN = "pending_sign"
    SIGNED = "signed"
    RETURN_REQUESTED = "return_requested"
    REROUTED = "rerouted"
    RETURN_REJECTED = "return_rejected"


class Priority(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"  # signs within the urgent limit (2 office hours) and enters supervision at launch
    MAJOR = "major"  # enters supervision at launch


class SupervisionLevel(StrEnum):
    """The highest rung of the escalation ladder a case has reached (DESIGN.md §4); it never goes down."""

    NONE = "none"
    REMINDER_NOTICE = "reminder_notice"
    SUPERVISION_ORDER = "supervision_order"
    CIRCULAR = "circular"
    ADMONITORY_TALK = "admonitory_talk"
    LEADERS_MEETING = "leaders_meeting"  # reported to the city leaders' joint meeting (市領導會辦)

    @property
    def rank(self) -> int:
        return list(SupervisionLevel).index(self)


class ClockStep(StrEnum):
    """The step limits the legal clock watches on a case."""

    ACCEPT = "accept"
    SIGN = "sign"
    RETURN_RULING = "return_ruling"
    COMMIT = "commit"
    PROGRESS_REPORT = "progress_report"
    DEADLINE = "deadline"  # the committed deadline: the closing report is due
    EXTENSION_DECISION = "extension_decision"
    REVIEW = "review"
    FOLLOW_UP = "follow_up"
    SUPERVISION_ORDER = "supervision_order"
    JOINT_MEETING = "joint_meeting"  # the leaders' joint meeting: the coordinator records its outcome
    LEADERS_RUNG = "leaders_rung"  # after an admonitory talk: the case goes to the leaders when it runs out
    CHANNEL_DEADLINE = "channel_deadline"  # the channel's own deadline (a 12345 work order's): the case must answer

    @property
    def watches_coordinator(self) -> bool:
        """The coordinator's own steps earn reminders, never cards."""
        return self in (
            ClockStep.JOINT_MEETING,
            ClockStep.ACCEPT,
            ClockStep.RETURN_RULING,
            ClockStep.EXTENSION_DECISION,
            ClockStep.REVIEW,
            ClockStep.FOLLOW_UP,
        )


class CommitmentDecision(StrEnum):
    ACCEPT = "accept"
    IMPOSE = "impose"


class ReturnRuling(StrEnum):
    UPHOLD = "uphold"  # the return was improper: the assignment stands and is signed (buck-passing recorded)
    REROUTE = "reroute"  # the return was right: the assignment goes to the department named


class ReviewVerdict(StrEnum):
    PASS = "pass"
    REDO = "redo"
