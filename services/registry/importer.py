"""Imports registry files into the store: all or nothing, and importing the same files again changes nothing.

Departments and matters are created or updated by code and never deleted (`active: false` retires one). A
department's function list and roster are replaced whenever the files state them; lists the files leave out
stay as they are. The coordinator and supervisors a department or matter names are replaced with the record, and
the registry-wide defaults whenever a file has a `defaults` section.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.gateway.endpoints import current_policy
from activities.store import stamps
from activities.store.collaboration import CollaborationRepository
from activities.store.intake import IntakeChannel, IntakeRepository
from activities.store.leaders_rungs import LeadersRungRepository, LeadersRungRow
from activities.store.registry import (
    CollaborationMatter,
    Department,
    DepartmentFunction,
    MatterParty,
    MatterStepLimit,
    RegistryRepository,
    RegistryRole,
    RosterEntry,
)
from schemas.registry import CaseRole, ImportSummary, MatterKind, PartyRole, RegistryProblem, SectionSummary
from services.registry.collaboration import apply_sections, read_sections, stored_item_codes, validate_sections
from services.registry.document import (
    ChannelSpec,
    DefaultsSpec,
    DepartmentSpec,
    Located,
    MatterSpec,
    RegistryDocument,
    read_registry_files,
)
from services.registry.validation import StoredRegistry, validate

Scope = tuple[str | None, str | None]  # (matter, area); (None, None) is the registry-wide defaults
Roles = list[tuple[str, str, int]]  # (role, department, position), sorted


class RegistryRejected(Exception):
    """The files break at least one rule; nothing was written. `problems` lists every one."""

    def __init__(self, problems: Sequence[RegistryProblem]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"registry rejected, nothing was changed; {len(self.problems)} problem(s):\n{listing}")


async def import_registry(sessions: async_sessionmaker[AsyncSession], paths: Sequence[Path]) -> ImportSummary:
    document = read_registry_files(list(paths))
    async with sessions.begin() as session:
        repository = RegistryRepository(session)
        departments = {row.code: row for row in await repository.departments()}
        matters = {row.code: row for row in await repository.matters()}
        functions: dict[str, dict[tuple[str, str], str]] = {}
        for function in await repository.all_functions():
            functions.setdefault(function.department_code, {})[(function.item_kind, function.item_code)] = (
                function.item_name
            )
        roster: dict[str, set[tuple[str | None, str, str, str]]] = {}
        for entry in await repository.all_roster():
            roster.setdefault(entry.department_code, set()).add(
                (entry.matter_code, entry.role, entry.person_name, entry.phone)
            )
        roles: dict[Scope, Roles] = {}
        for role in await repository.all_roles():
            roles.setdefault(role.scope, []).append((role.role, role.department_code, role.position))
        roles = {scope: sorted(rows) for scope, rows in roles.items()}

        problems = list(document.problems)
        if not document.unreadable:  # references into an unreadable file would only add false alarms
            stored = StoredRegistry(
                parents={code: row.parent_code for code, row in departments.items()},
                matters=set(matters),
                functions={code: set(items) for code, items in functions.items()},
                inactive={code for code, row in departments.items() if not row.active},
                roles={scope: [(role, code) for role, code, _ in rows] for scope, rows in roles.items()},
                handoff_matters={code for code, row in matters.items() if row.kind != MatterKind.CASE.value},
                localities={code for code, row in departments.items() if row.is_locality},
            )
            problems += validate(document, stored)
        collaboration = read_sections(document.collaboration)
        if not document.unreadable:
            known = set(departments) | document.declared_departments
            items = await stored_item_codes(CollaborationRepository(session))
            problems += validate_sections(collaboration, known, items, current_policy())
        if problems:
            raise RegistryRejected(problems)

        summary = ImportSummary(files=document.files)
        now = datetime.now(UTC)
        await _apply_departments(session, document, departments, roles, summary.departments, now)
        await _apply_matters(session, document, matters, roles, summary.matters, now)
        await _apply_defaults(session, document, roles, summary.defaults)
        await _apply_functions(session, document, functions, summary.functions)
        await _apply_roster(session, document, roster, summary.roster)
        await _apply_leaders_rungs(session, document)
        await _apply_channels(session, document, summary.channels, now)
        counts = await apply_sections(CollaborationRepository(session), collaboration, now)
        summary.shared_items, summary.deliveries, summary.joint_matters = (
            counts.shared_items,
            counts.deliveries,
            counts.joint_matters,
        )
        await stamps.bump(session, stamps.REGISTRY)  # the workers' kept departments reload on their next lookup
    return summary


async def _apply_leaders_rungs(session: AsyncSession, document: RegistryDocument) -> None:
    """A file that states `leaders_rungs` names them all; files that do not leave the stored ones alone."""
    if document.leaders_rungs is None:
        return
    rows = {}
    for located in document.leaders_rungs:
        spec = located.value
        scope, code = spec.scope
        rows[(scope, code)] = LeadersRungRow(
            scope=scope,
            code=code,
            after_amount=spec.after.amount if spec.after else None,
            after_unit=spec.after.unit.value if spec.after else None,
            limit_amount=spec.limit.amount if spec.limit else None,
            limit_unit=spec.limit.unit.value if spec.limit else None,
        )
    await LeadersRungRepository(session).replace(list(rows.values()))


def _parents_first(located: list[Located[DepartmentSpec]]) -> list[Located[DepartmentSpec]]:
    by_code = {d.value.code: d for d in located}
    ordered: list[Located[DepartmentSpec]] = []
    placed: set[str] = set()

    def place(code: str) -> None:
        if code in placed or code not in by_code:
            return
        placed.add(code)
        parent = by_code[code].value.parent
        if parent is not None:
            place(parent)
        ordered.append(by_code[code])

    for department in located:
        place(department.value.code)
    return ordered


def _count(summary: SectionSummary, existed: bool, changed: bool) -> None:
    if not existed:
        summary.created += 1
    elif changed:
        summary.updated += 1
    else:
        summary.unchanged += 1


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _roles_of(spec: DepartmentSpec | MatterSpec | DefaultsSpec) -> Roles:
    roles = [(CaseRole.COORDINATOR.value, spec.coordinator, 0)] if spec.coordinator else []
    roles += [(CaseRole.SUPERVISOR.value, code, index) for index, code in enumerate(spec.supervisors)]
    return sorted(roles)


async def _replace_roles(session: AsyncSession, changed: dict[Scope, Roles]) -> None:
    """Rewrites the roles of each changed scope; its records (departments, matters) are flushed already."""
    for (matter, area), roles in changed.items():
        await session.execute(
            delete(RegistryRole).where(
                RegistryRole.matter_code.is_(None) if matter is None else RegistryRole.matter_code == matter,
                RegistryRole.area_code.is_(None) if area is None else RegistryRole.area_code == area,
            )
        )
        if roles:
            await session.execute(
                insert(RegistryRole),
                [
                    {"matter_code": matter, "area_code": area, "role": role, "department_code": code, "position": at}
                    for role, code, at in roles
                ],
            )


async def _apply_departments(
    session: AsyncSession,
    document: RegistryDocument,
    stored: dict[str, Department],
    stored_roles: dict[Scope, Roles],
    summary: SectionSummary,
    now: datetime,
) -> None:
    changed_roles: dict[Scope, Roles] = {}
    for located in _parents_first(document.departments):
        spec = located.value
        values = {
            "name": spec.name,
            "level": spec.level.value,
            "parent_code": spec.parent,
            "is_locality": spec.locality,
            "webhook_url": spec.webhook_url,
            "secret_ref": spec.secret_ref,
            "active": spec.active,
        }
        roles = _roles_of(spec)
        if roles != stored_roles.get((None, spec.code), []):
            changed_roles[(None, spec.code)] = roles
        row = stored.get(spec.code)
        if row is None:
            session.add(Department(code=spec.code, updated_at=now, **values))
            _count(summary, existed=False, changed=True)
            continue
        changed = _assign(row, values) or (None, spec.code) in changed_roles
        if changed:
            row.updated_at = now
        _count(summary, existed=True, changed=changed)
    await session.flush()
    await _replace_roles(session, changed_roles)


def _matter_values(spec: MatterSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind.value,
        "direction": spec.direction.value if spec.direction else None,
        "theme": spec.theme,
        "trigger": spec.trigger.value,
        "trigger_item": spec.trigger_item,
        "target_item": spec.target_item,
        "claim_mode": spec.claim_mode.value,
        "card_profile": spec.card_profile.value,
        "statutory_limit_amount": spec.statutory_limit.amount if spec.statutory_limit else None,
        "statutory_limit_unit": spec.statutory_limit.unit.value if spec.statutory_limit else None,
        "extension_cap_amount": spec.extension_cap.amount if spec.extension_cap else None,
        "extension_cap_unit": spec.extension_cap.unit.value if spec.extension_cap else None,
        "max_extensions": spec.max_extensions,
        "active": spec.active,
    }


def _matter_parties(spec: MatterSpec) -> list[tuple[str, str, int]]:
    parties = [(PartyRole.INITIATOR.value, code, index) for index, code in enumerate(spec.initiators)]
    if spec.lead is not None:
        parties.append((PartyRole.LEAD.value, spec.lead, 0))
    parties += [(PartyRole.COLLABORATOR.value, code, index) for index, code in enumerate(spec.collaborators)]
    return parties


def _party_rows(parties: list[tuple[str, str, int]]) -> list[MatterParty]:
    return [MatterParty(role=role, department_code=code, position=position) for role, code, position in parties]


def _limit_rows(limits: dict[str, tuple[Decimal, str]]) -> list[MatterStepLimit]:
    return [MatterStepLimit(step=step, amount=amount, unit=unit) for step, (amount, unit) in limits.items()]


async def _apply_matters(
    session: AsyncSession,
    document: RegistryDocument,
    stored: dict[str, CollaborationMatter],
    stored_roles: dict[Scope, Roles],
    summary: SectionSummary,
    now: datetime,
) -> None:
    changed_roles: dict[Scope, Roles] = {}
    for located in document.matters:
        spec = located.value
        values = _matter_values(spec)
        parties = _matter_parties(spec)
        limits = {step.value: (limit.amount, limit.unit.value) for step, limit in spec.limits.items()}
        roles = _roles_of(spec)
        if roles != stored_roles.get((spec.code, None), []):
            changed_roles[(spec.code, None)] = roles
        row = stored.get(spec.code)
        if row is None:
            session.add(
                CollaborationMatter(
                    code=spec.code,
                    updated_at=now,
                    parties=_party_rows(parties),
                    step_limits=_limit_rows(limits),
                    **values,
                )
            )
            _count(summary, existed=False, changed=True)
            continue
        changed = _assign(row, values)
        if sorted((p.role, p.department_code, p.position) for p in row.parties) != sorted(parties):
            row.parties = _party_rows(parties)
            changed = True
        if {lim.step: (lim.amount, lim.unit) for lim in row.step_limits} != limits:
            row.step_limits = _limit_rows(limits)
            changed = True
        changed = changed or (spec.code, None) in changed_roles
        if changed:
            row.updated_at = now
        _count(summary, existed=True, changed=changed)
    await session.flush()
    await _replace_roles(session, changed_roles)


async def _apply_defaults(
    session: AsyncSession, document: RegistryDocument, stored_roles: dict[Scope, Roles], summary: SectionSummary
) -> None:
    if not document.defaults:  # files without a defaults section leave the stored ones
        return
    roles = _roles_of(document.defaults[0].value)
    current = stored_roles.get((None, None), [])
    _count(summary, existed=bool(current) or not roles, changed=roles != current)
    if roles != current:
        await _replace_roles(session, {(None, None): roles})


async def _apply_functions(
    session: AsyncSession,
    document: RegistryDocument,
    stored: dict[str, dict[tuple[str, str], str]],
    summary: SectionSummary,
) -> None:
    wanted: dict[str, dict[tuple[str, str], str]] = {code: {} for code in document.function_lists}
    for located in document.functions:
        row = located.value
        wanted[row.department][(row.kind.value, row.item_code)] = row.item_name
    for code, items in wanted.items():
        current = stored.get(code, {})
        _count(summary, existed=bool(current), changed=current != items)
        if current == items:
            continue
        await session.execute(delete(DepartmentFunction).where(DepartmentFunction.department_code == code))
        if items:
            await session.execute(
                insert(DepartmentFunction),
                [
                    {"department_code": code, "item_kind": kind, "item_code": item, "item_name": name}
                    for (kind, item), name in items.items()
                ],
            )


async def _apply_roster(
    session: AsyncSession,
    document: RegistryDocument,
    stored: dict[str, set[tuple[str | None, str, str, str]]],
    summary: SectionSummary,
) -> None:
    wanted: dict[str, list[tuple[str | None, str, str, str]]] = {code: [] for code in document.rosters}
    for located in document.roster:
        person = located.value
        assert person.phone is not None  # validation refuses a person without a contact
        wanted[person.department].append((person.matter, person.role.value, person.name, person.phone))
    for code, people in wanted.items():
        current = stored.get(code, set())
        changed = current != set(people)
        _count(summary, existed=bool(current), changed=changed)
        if not changed:
            continue
        await session.execute(delete(RosterEntry).where(RosterEntry.department_code == code))
        if people:
            await session.execute(
                insert(RosterEntry),
                [
                    {"department_code": code, "matter_code": matter, "role": role, "person_name": name, "phone": phone}
                    for matter, role, name, phone in people
                ],
            )


def _channel_values(spec: ChannelSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind.value,
        "department_code": spec.department,
        "pushes": spec.pushes,
        "categories": dict(spec.categories),
        "localities": dict(spec.localities),
        "address_localities": dict(spec.address_localities),
        "unplaced_matter": spec.unplaced_matter,
        "unplaced_locality": spec.unplaced_locality,
        "active": spec.active,
    }


async def _apply_channels(
    session: AsyncSession, document: RegistryDocument, summary: SectionSummary, now: datetime
) -> None:
    """Channels are created or updated by code, never deleted (`active: false` closes one)."""
    stored = {row.code: row for row in await IntakeRepository(session).channels()}
    for located in document.channels:
        spec = located.value
        values = _channel_values(spec)
        row = stored.get(spec.code)
        if row is None:
            session.add(IntakeChannel(code=spec.code, updated_at=now, **values))
            _count(summary, existed=False, changed=True)
            continue
        changed = _assign(row, values)
        if changed:
            row.updated_at = now
        _count(summary, existed=True, changed=changed)
