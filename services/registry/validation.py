"""The registry's cross-record rules, checked over the files and what the store already holds.

Every problem is collected, so one run shows the operator the whole list to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from activities.gateway.endpoints import EndpointRefused, WebhookPolicy, check_url, current_policy
from schemas.registry import (
    DIRECTIONS_OF_KIND,
    RECEIVER_ITEM_KIND,
    CaseRole,
    DepartmentLevel,
    MatterKind,
    RegistryProblem,
    steps_of,
)
from services.registry.document import DefaultsSpec, DepartmentSpec, Located, MatterSpec, RegistryDocument

PHONE = re.compile(r"^\+?[0-9][0-9-]{5,30}$")
SECRET_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CHANNEL_CODE_CHARS = 15  # `<channel>.<record number>` is a case number of at most 64 characters


@dataclass
class StoredRegistry:
    """The part of the stored registry that references in the files may point at."""

    parents: dict[str, str | None] = field(default_factory=dict)
    matters: set[str] = field(default_factory=set)
    functions: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # department → {(kind, item)}
    inactive: set[str] = field(default_factory=set)  # retired departments
    # (matter, area) → [(role, department)]; (None, None) is the registry-wide defaults.
    roles: dict[tuple[str | None, str | None], list[tuple[str, str]]] = field(default_factory=dict)
    handoff_matters: set[str] = field(default_factory=set)  # stored matters that are not cases
    localities: set[str] = field(default_factory=set)  # stored departments that are localities


def validate(
    document: RegistryDocument, stored: StoredRegistry, policy: WebhookPolicy | None = None
) -> list[RegistryProblem]:
    """Problems of the files as a whole (field-level ones were found while reading).

    Webhook URLs follow `policy`, by default the one the workers deliver under (the process's settings).
    """
    problems: list[RegistryProblem] = []
    departments = stored.parents.keys() | document.declared_departments
    matters = stored.matters | document.declared_matters
    problems += _duplicates((d, d.value.code) for d in document.departments)
    problems += _duplicates((m, m.value.code) for m in document.matters)
    problems += _department_rules(document, departments, policy or current_policy())
    problems += _cycles(document, stored)
    problems += _function_rules(document, departments)
    problems += _roster_rules(document, departments, matters)
    problems += _matter_rules(document, stored, departments)
    problems += _role_rules(document, stored, departments)
    problems += _leaders_rung_rules(document, departments, matters)
    problems += _channel_rules(document, stored, departments, matters)
    return _not_yet_reported(document, problems)


def _leaders_rung_rules(document: RegistryDocument, departments: set[str], matters: set[str]) -> list[RegistryProblem]:
    """A leaders' rung names a matter or a department the registry knows, once."""
    problems: list[RegistryProblem] = []
    seen: set[tuple[str, str]] = set()
    for rung in document.leaders_rungs or []:
        scope, code = rung.value.scope
        if code not in (matters if scope == "matter" else departments):
            problems.append(rung.problem(scope, f"{code} is not a {scope} in the registry"))
        if (scope, code) in seen:
            problems.append(rung.problem(scope, f"{scope} {code} has a leaders' rung already"))
        seen.add((scope, code))
    return problems


def _not_yet_reported(document: RegistryDocument, problems: list[RegistryProblem]) -> list[RegistryProblem]:
    """Drops problems of fields that reading already reported (they were left out of the record)."""
    records: list[Located[Any]] = [
        *document.departments,
        *document.matters,
        *document.functions,
        *document.roster,
        *document.defaults,
        *document.channels,
    ]
    failed = {(r.file, r.where): r.failed for r in records if r.failed}
    return [p for p in problems if re.split(r"[.\[]", p.field)[0] not in failed.get((p.file, p.where), ())]


def _duplicates(records: Iterable[tuple[Located[Any], str]], field_name: str = "code") -> list[RegistryProblem]:
    first: dict[str, Located[Any]] = {}
    problems = []
    for located, key in records:
        if key in first:
            earlier = first[key]
            problems.append(
                located.problem(field_name, f"duplicate: {key} is already defined at {earlier.file}: {earlier.where}")
            )
        else:
            first[key] = located
    return problems


def _unknown_department(code: str) -> str:
    return f"unknown department {code}: it must be defined in these files or already be in the registry"


def _department_rules(
    document: RegistryDocument, departments: set[str], policy: WebhookPolicy
) -> list[RegistryProblem]:
    problems = []
    for located in document.departments:
        spec = located.value
        if spec.locality and spec.level is DepartmentLevel.CITY:
            problems.append(located.problem("locality", "only a county, district or zone can be a locality"))
        if spec.parent is not None and spec.parent not in departments:
            problems.append(located.problem("parent", _unknown_department(spec.parent)))
        if spec.webhook_url is not None:
            # The URL as written; its host is checked again on the address it resolves to before every push.
            try:
                check_url(spec.webhook_url, policy)
            except EndpointRefused as refused:
                problems.append(located.problem("webhook_url", refused.rule))
            if spec.secret_ref is None:
                problems.append(
                    located.problem("secret_ref", "is required with a webhook_url: pushes are signed with that secret")
                )
        if spec.secret_ref is not None:
            if spec.webhook_url is None:
                problems.append(located.problem("secret_ref", "is only meaningful with a webhook_url"))
            if not SECRET_REF.match(spec.secret_ref):
                problems.append(
                    located.problem("secret_ref", "is a secret's name: letters, digits, '_', '.', '-' only")
                )
    return problems


def _cycles(document: RegistryDocument, stored: StoredRegistry) -> list[RegistryProblem]:
    parents = dict(stored.parents)
    for located in document.departments:
        parents[located.value.code] = located.value.parent
    in_file = {located.value.code: located for located in document.departments}
    problems = []
    reported: set[frozenset[str]] = set()
    for located in document.departments:
        path: list[str] = []
        node: str | None = located.value.code
        while node is not None and node not in path:
            path.append(node)
            node = parents.get(node)
        if node is None:
            continue
        cycle = path[path.index(node) :]
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        first = next(in_file[code] for code in in_file if code in cycle)
        ring = " → ".join([*cycle, cycle[0]])
        problems.append(first.problem("parent", f"the parents form a cycle: {ring}"))
    return problems


def _function_rules(document: RegistryDocument, departments: set[str]) -> list[RegistryProblem]:
    problems = [
        located.problem("department", _unknown_department(located.value.department))
        for located in document.functions
        if located.value.department not in departments
    ]
    keyed = ((f, f"{f.value.department} {f.value.kind.value} item {f.value.item_code}") for f in document.functions)
    return problems + _duplicates(keyed, "item_code")


def _roster_rules(document: RegistryDocument, departments: set[str], matters: set[str]) -> list[RegistryProblem]:
    problems = []
    for located in document.roster:
        person = located.value
        if person.department not in departments:
            problems.append(located.problem("department", _unknown_department(person.department)))
        if person.matter is not None and person.matter not in matters:
            problems.append(
                located.problem(
                    "matter", f"unknown matter {person.matter}: it must be in these files or already in the registry"
                )
            )
        if person.phone is None:
            problems.append(located.problem("phone", "is required: every roster person needs a contact for SMS"))
        elif not PHONE.match(person.phone):
            problems.append(located.problem("phone", "is not a phone number (digits, optionally '+' and '-')"))
    keyed = (
        (r, f"{r.value.role.value} of {r.value.department} for {r.value.matter or 'every matter'}")
        for r in document.roster
    )
    return problems + _duplicates(keyed, "role")


def _matter_rules(document: RegistryDocument, stored: StoredRegistry, departments: set[str]) -> list[RegistryProblem]:
    functions = {code: set(items) for code, items in stored.functions.items() if code not in document.function_lists}
    for function in document.functions:
        row = function.value
        functions.setdefault(row.department, set()).add((row.kind.value, row.item_code))

    problems = []
    for located in document.matters:
        matter = located.value
        for field_name, codes in (("initiators", matter.initiators), ("collaborators", matter.collaborators)):
            for index, code in enumerate(codes):
                if code not in departments:
                    problems.append(located.problem(f"{field_name}[{index}]", _unknown_department(code)))
                elif code in codes[:index]:
                    problems.append(located.problem(f"{field_name}[{index}]", f"duplicate: {code} is listed twice"))
        if matter.lead is not None and matter.lead not in departments:
            problems.append(located.problem("lead", _unknown_department(matter.lead)))
        allowed_steps = steps_of(matter.kind)
        for step in matter.limits:
            if step not in allowed_steps:
                known = ", ".join(sorted(s.value for s in allowed_steps))
                problems.append(
                    located.problem(
                        f"limits.{step.value}", f"is not a step of a {matter.kind.value} matter; its steps: {known}"
                    )
                )
        if matter.kind is MatterKind.CASE:
            if matter.lead is None:
                problems.append(located.problem("lead", "is required: a case matter names its lead department"))
            if matter.direction is not None:
                problems.append(located.problem("direction", "is only for hand-off matters"))
            continue
        if matter.lead is not None:
            problems.append(
                located.problem("lead", "is only for case matters; a hand-off's receivers are its collaborators")
            )
        allowed = DIRECTIONS_OF_KIND[matter.kind]
        if matter.direction is None or matter.direction not in allowed:
            choices = " or ".join(sorted(d.value for d in allowed))
            problems.append(located.problem("direction", f"a {matter.kind.value} matter goes {choices}"))
            continue
        if not matter.collaborators and matter.target_item is None:
            problems.append(
                located.problem(
                    "collaborators", "a hand-off needs receivers: name collaborators or a target_item to route by"
                )
            )
        if matter.target_item is not None:
            kind = RECEIVER_ITEM_KIND[matter.direction].value
            if not any((kind, matter.target_item) in items for items in functions.values()):
                problems.append(
                    located.problem(
                        "target_item",
                        f"no department holds {kind} item {matter.target_item}: add it to a department's functions",
                    )
                )
    return problems


def _role_rules(document: RegistryDocument, stored: StoredRegistry, departments: set[str]) -> list[RegistryProblem]:
    """Coordinators and supervisors: known, active departments, each named once; one defaults section."""
    retired = set(stored.inactive) - {d.value.code for d in document.departments}
    retired |= {d.value.code for d in document.departments if not d.value.active}

    problems = []
    named: list[Located[DepartmentSpec] | Located[MatterSpec] | Located[DefaultsSpec]] = [
        *document.departments,
        *document.matters,
        *document.defaults,
    ]
    for located in named:
        spec = located.value
        if spec.coordinator is not None:
            if spec.coordinator not in departments:
                problems.append(located.problem("coordinator", _unknown_department(spec.coordinator)))
            elif spec.coordinator in retired:
                problems.append(
                    located.problem("coordinator", f"{spec.coordinator} is inactive: a coordinator must be active")
                )
        for index, code in enumerate(spec.supervisors):
            if code not in departments:
                problems.append(located.problem(f"supervisors[{index}]", _unknown_department(code)))
            elif code in spec.supervisors[:index]:
                problems.append(located.problem(f"supervisors[{index}]", f"duplicate: {code} is listed twice"))
            elif code in retired:
                problems.append(
                    located.problem(f"supervisors[{index}]", f"{code} is inactive: a supervisor must be active")
                )
        if isinstance(spec, MatterSpec) and spec.kind is not MatterKind.CASE and spec.supervisors:
            problems.append(
                located.problem(
                    "supervisors", "are only for case matters: a hand-off has a coordinator, no supervisors"
                )
            )
    for later in document.defaults[1:]:
        first = document.defaults[0]
        problems.append(later.problem("defaults", f"duplicate: the defaults are already stated at {first.file}"))
    return problems + _roles_left_to_retired(document, stored, retired)


def _roles_left_to_retired(
    document: RegistryDocument, stored: StoredRegistry, retired: set[str]
) -> list[RegistryProblem]:
    """A department the files retire must not stay coordinator or supervisor where the files do not restate it."""
    restated: set[tuple[str | None, str | None]] = {(m.value.code, None) for m in document.matters}
    restated |= {(None, d.value.code) for d in document.departments}
    if document.defaults:
        restated.add((None, None))
    retiring = {d.value.code: d for d in document.departments if not d.value.active}
    problems = []
    for (matter, area), roles in sorted(stored.roles.items(), key=lambda item: (item[0][0] or "", item[0][1] or "")):
        if (matter, area) in restated:
            continue
        for role, code in roles:
            if code not in retiring:
                continue
            scope = f"of matter {matter}" if matter else f"for cases in {area}" if area else "by default"
            word = "the coordinator" if role == CaseRole.COORDINATOR.value else "a supervisor"
            problems.append(
                retiring[code].problem("active", f"{code} is still {word} {scope}: name another there first")
            )
    return problems


def _channel_rules(
    document: RegistryDocument, stored: StoredRegistry, departments: set[str], matters: set[str]
) -> list[RegistryProblem]:
    """Intake channels: a known feeding department, and mappings onto known case matters and localities."""
    declared = {m.value.code: m.value.kind for m in document.matters}
    other_matters = {code for code in stored.handoff_matters if code not in declared}
    other_matters |= {code for code, kind in declared.items() if kind is not MatterKind.CASE}
    in_files = {d.value.code: d.value.locality for d in document.departments}
    not_localities = {code for code in stored.parents if code not in stored.localities and code not in in_files}
    not_localities |= {code for code, locality in in_files.items() if not locality}
    problems = _duplicates((c, c.value.code) for c in document.channels)
    for located in document.channels:
        spec = located.value
        if len(spec.code) > CHANNEL_CODE_CHARS:
            problems.append(
                located.problem("code", f"at most {CHANNEL_CODE_CHARS} characters: it prefixes the cases' numbers")
            )
        if spec.department not in departments:
            problems.append(located.problem("department", _unknown_department(spec.department)))
        targets = [(f"categories.{key}", code) for key, code in spec.categories.items()]
        for field_name, code in [*targets, ("unplaced_matter", spec.unplaced_matter)]:
            if code not in matters:
                problems.append(
                    located.problem(field_name, f"unknown matter {code}: it must be in these files or the registry")
                )
            elif code in other_matters:
                problems.append(located.problem(field_name, f"{code} is not a case matter: a channel launches cases"))
        areas = [(f"localities.{key}", code) for key, code in spec.localities.items()]
        areas += [(f"address_localities.{key}", code) for key, code in spec.address_localities.items()]
        for field_name, code in [*areas, ("unplaced_locality", spec.unplaced_locality)]:
            if code not in departments:
                problems.append(located.problem(field_name, _unknown_department(code)))
            elif code in not_localities:
                problems.append(located.problem(field_name, f"{code} is not a locality (locality: true)"))
    return problems
