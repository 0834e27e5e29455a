"""One place decides who may see and do what: the parties of a case or hand-off, the visibility clause of lists and
counts, the item check of reads, and which roles may send which command.

Two layers, as the Dutch case APIs do it: a grant by type (which roles may ever send a command) checked before
anything is sent, and the case's own rules (does this department hold that role on this case), which the workflow
checks and names; `refusal` turns the latter into 403 for a party and 404 for anyone else. The department always
comes from the credential; an operator may act for another one, with a reason.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import structlog

from caseloop.direct.visibility import party_clause
from schemas import handoff as h
from schemas.access import Caller, CredentialKind
from schemas.api import CaseActing, CaseActingRole, HandoffActing, HandoffActingRole, LaunchRequest, OnBehalf
from schemas.case.commands import Actor
from schemas.case.stages import Role
from schemas.case.views import CaseView
from schemas.registry import LaunchRoles
from workers.door.problems import ACTOR_RULES, DoorProblem, Kind, forbidden, not_found

log = structlog.get_logger(__name__)

R = CaseActingRole
_PARTIES = frozenset({R.LEAD, R.LOCALITY, R.CO_UNIT})
_COORDINATOR = frozenset({R.COORDINATOR})

# Which roles may ever send each case command (the engine's command names); the workflow then checks that the
# department holds the role on the case.
CASE_GRANTS: dict[str, frozenset[CaseActingRole]] = {
    "accept": _COORDINATOR,
    "reject": _COORDINATOR,
    "sign": _PARTIES | _COORDINATOR,
    "request_return": _PARTIES,
    "reroute": _COORDINATOR,
    "rule_on_return": _COORDINATOR,
    "commit": frozenset({R.LEAD}),
    "cosign_commitment": frozenset({R.LOCALITY}),
    "decide_commitment": _COORDINATOR,
    "report_progress": frozenset({R.LEAD}),
    "request_extension": frozenset({R.LEAD}),
    "decide_extension": _COORDINATOR,
    "suspend": _COORDINATOR,
    "resume": _COORDINATOR,
    "submit_closing_report": frozenset({R.LEAD}),
    "cosign_closing_report": frozenset({R.LOCALITY}),
    "review": _COORDINATOR,
    "rate_follow_up": frozenset({R.REQUESTER, R.COORDINATOR}),
    "write_off": _COORDINATOR,
    "reopen": frozenset({R.REQUESTER, R.COORDINATOR}),
    "terminate": _COORDINATOR,
    "issue_supervision_order": frozenset({R.SUPERVISOR}),
    "receive_supervision_order": _PARTIES,
    "answer_supervision_order": _PARTIES,
    "lift_supervision_order": frozenset({R.SUPERVISOR}),
    "comment": frozenset(CaseActingRole),
    "revoke_card": _COORDINATOR,
    "request_joint_meeting": _COORDINATOR,
    "record_meeting_outcome": _COORDINATOR,
    # Any department working on the case; the registry's grants decide which items it may ask.
    "verify_fact": _PARTIES | _COORDINATOR | frozenset({R.SUPERVISOR}),
}

H = HandoffActingRole
HANDOFF_GRANTS: dict[str, frozenset[HandoffActingRole]] = {
    "claim": frozenset({H.RECEIVER}),
    "return_push": frozenset({H.RECEIVER}),
    "reroute": frozenset({H.COORDINATOR}),
    "start_acting": frozenset({H.RECEIVER}),
    "send_feedback": frozenset({H.RECEIVER}),
    "acknowledge": frozenset({H.ORIGINATOR}),
    "terminate": frozenset({H.COORDINATOR, H.ORIGINATOR}),
    # Any department working on the hand-off; the registry's grants decide which items it may ask.
    "verify_fact": frozenset({H.RECEIVER, H.ORIGINATOR, H.COORDINATOR}),
}


def is_operator(caller: Caller) -> bool:
    return caller.kind is CredentialKind.OPERATOR


# Parties.


def case_parties(view: CaseView) -> frozenset[str]:
    """Every department with a part in the case, as the case itself counts them (the CaseloopParties that
    `visibility_clause` filters on): initiating system, coordinator, supervisors, every assignment's department
    (rerouted ones too) and the departments supervision orders went to."""
    return frozenset(view.parties)


def handoff_parties(view: h.HandoffView, coordinator: str | None = None) -> frozenset[str]:
    """The originating department, every department the push went to, and the coordinator when known."""
    codes = {view.source_department, *(route.department_code for route in view.routes)}
    if view.receiver_code is not None:
        codes.add(view.receiver_code)
    if coordinator is not None:
        codes.add(coordinator)
    return frozenset(codes)


def holds_case_role(view: CaseView, actor: Actor) -> bool:
    """Whether the actor's department holds its role on the case, as the workflow's rules see it."""
    role, department = actor.role, actor.department
    if role is Role.COORDINATOR:
        return department == view.coordinator
    if role in (Role.REQUESTER, Role.INITIATOR):
        return department == view.system
    if role is Role.SUPERVISOR:
        return department in view.supervisors
    if role in (Role.LEAD, Role.LOCALITY, Role.CO_UNIT):
        return any(a.active and a.department == department and a.party.value == role.value for a in view.assignments)
    return False


def holds_handoff_role(view: h.HandoffView, actor: h.Actor) -> bool | None:
    """As `holds_case_role`, for a hand-off; the coordinator is checked against the registry before sending."""
    if actor.role is Role.RECEIVER:
        return actor.department == view.receiver_code
    if actor.role is Role.ORIGINATOR:
        return actor.department == view.source_department
    return None


# Reads.


def visibility_clause(caller: Caller) -> str | None:
    """What list and count add to every query: only what the caller's department is party to; operators see all."""
    if is_operator(caller):
        return None
    return party_clause(caller.department)


def can_read(caller: Caller, parties: Collection[str]) -> bool:
    return is_operator(caller) or caller.department in parties


# Acting.


def acting_department(caller: Caller, body: OnBehalf, *, field: str = "actor_department") -> tuple[str, str | None]:
    """The department a request acts for, and an operator's reason. A department credential acts only for its own
    department; an operator acts for its own, or for `on_behalf_of` with a stated reason."""
    named = getattr(body, field, None)
    if body.on_behalf_of is not None or body.on_behalf_reason is not None:
        if not is_operator(caller):
            raise forbidden(
                "only an operator credential may act on behalf of a department",
                rule="on-behalf.operator-only",
                field="on_behalf_of" if body.on_behalf_of is not None else "on_behalf_reason",
            )
    department, reason = caller.department, None
    if body.on_behalf_of is not None and body.on_behalf_of != caller.department:
        if body.on_behalf_reason is None or not body.on_behalf_reason.strip():
            raise DoorProblem(
                Kind.RULE_REFUSED,
                "an operator acting on behalf of a department states why in on_behalf_reason",
                rule="on-behalf.reason",
                field="on_behalf_reason",
            )
        department, reason = body.on_behalf_of, body.on_behalf_reason.strip()
    if named is not None and named != department:
        raise forbidden(
            f"this credential acts for {department}, not {named}: the department comes from the credential",
            rule="actor.department",
            field=field,
        )
    return department, reason


def _granted(
    command: str, role: str, grants: dict[str, frozenset[CaseActingRole]] | dict[str, frozenset[HandoffActingRole]]
) -> None:
    allowed = grants[command]
    if role not in allowed:
        names = ", ".join(sorted(str(member) for member in allowed))
        raise forbidden(f"{command} is sent by the {names}, not the {role}", rule="grant.role", field="role")


def case_actor(caller: Caller, command: str, body: CaseActing) -> Actor:
    """The actor of a case command: the credential's department in the role the body names."""
    _granted(command, body.role.value, CASE_GRANTS)
    department, reason = acting_department(caller, body)
    return Actor(
        department=department, role=Role(body.role.value), credential=caller.credential_id, on_behalf_reason=reason
    )


def handoff_actor(caller: Caller, command: str, body: HandoffActing) -> h.Actor:
    _granted(command, body.role.value, HANDOFF_GRANTS)
    department, reason = acting_department(caller, body)
    return h.Actor(
        department=department,
        role=Role(body.role.value),
        credential=caller.credential_id,
        on_behalf_reason=reason,
    )


def reporter(caller: Caller, body: OnBehalf) -> h.Actor:
    """Who reports an event or withdraws a source case: the credential's department (an operator's `on_behalf_of`,
    with its reason) as the originator, and the credential, for the audit rows the report writes."""
    department, reason = acting_department(caller, body, field="source_department")
    return h.Actor(
        department=department,
        role=Role.ORIGINATOR,
        credential=caller.credential_id,
        on_behalf_reason=reason,
    )


def launching_system(caller: Caller, body: LaunchRequest) -> tuple[str, str | None]:
    """The initiating system of a launch: the credential's department, or an operator's `on_behalf_of`."""
    if body.policy is not None and not is_operator(caller):
        raise forbidden("per-case policy overrides are an operator's", rule="launch.policy", field="policy")
    return acting_department(caller, body, field="system")


def check_launch(caller: Caller, system: str, matter_code: str, roles: LaunchRoles) -> None:
    """Only the matter's initiators launch it."""
    if system not in roles.initiators:
        log.warning(
            "launch refused",
            credential=caller.credential_id,
            department=system,
            matter=matter_code,
            rule="launch.initiator",
        )
        raise forbidden(
            f"{system} is not an initiator of matter {matter_code} in the registry",
            rule="launch.initiator",
            field="matter_code",
        )


def refusal(
    caller: Caller,
    department: str,
    *,
    subject: str,
    command: str,
    rule: str | None,
    parties: Iterable[str],
    field: str | None = None,
    detail: str | None = None,
) -> DoorProblem:
    """The answer to a command the case or hand-off refused for who sent it (or for anything, to a non-party): 403
    to a party, 404 to anyone else, so a department learns nothing of cases it has no part in. Logged either way."""
    party = is_operator(caller) or caller.department in set(parties)
    log.warning(
        "command refused",
        credential=caller.credential_id,
        caller=caller.department,
        department=department,
        subject=subject,
        command=command,
        rule=rule,
        party=party,
    )
    if not party:
        return not_found(subject)
    return forbidden(
        detail or f"{department} may not {command.replace('_', ' ')} {subject}", rule=rule or "actor", field=field
    )


def is_actor_rule(rule: str | None) -> bool:
    return rule in ACTOR_RULES
