"""Who launches, coordinates and supervises a matter's cases, as the registry says: the front door asks here before
it starts a case, so a launcher can no longer name its own coordinator or supervisors.

The coordinator and the supervisors are each looked up in turn: the matter's own, else those named by the locality's
entry (or the nearest of its parents that names any), else the registry-wide defaults.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from activities.store.registry import Department, RegistryRepository
from caseloop.errors import InputRejected
from schemas.registry import CaseRole, LaunchRoles, MatterKind
from services.registry.lookups import matter_info


async def launch_roles(session: AsyncSession, matter_code: str, locality_code: str) -> LaunchRoles:
    """The initiators of a case matter and who coordinates and supervises its cases in this locality.

    Raises InputRejected (rule, field) for an unknown or retired matter, a hand-off matter, an unknown, retired or
    non-locality `locality_code`, and when the registry names no active coordinator.
    """
    repository = RegistryRepository(session)
    matter = await repository.get_matter(matter_code)
    if matter is None:
        raise InputRejected(
            f"matter {matter_code} does not exist in the registry", rule="registry.matter", field="matter_code"
        )
    info = matter_info(matter)
    if not info.active:
        raise InputRejected(f"matter {matter_code} is retired", rule="registry.matter", field="matter_code")
    if info.kind is not MatterKind.CASE:
        raise InputRejected(
            f"matter {matter_code} is a {info.kind.value} matter, not a case matter",
            rule="registry.case-matter",
            field="matter_code",
        )
    locality = await repository.get_department(locality_code)
    if locality is None or not locality.active or not locality.is_locality:
        why = (
            "does not exist in the registry"
            if locality is None
            else "is inactive"
            if not locality.active
            else f"({locality.name}) is not a locality (a county, district or zone)"
        )
        raise InputRejected(f"locality {locality_code} {why}", rule="registry.locality", field="locality_code")
    coordinator, supervisors = await _roles(repository, matter_code, locality)
    if coordinator is None:
        raise InputRejected(
            f"the registry names no coordinator for matter {matter_code} in {locality_code}: name one for the "
            "matter, the locality, or in the registry's defaults",
            rule="registry.coordinator",
            field="coordinator",
        )
    holder = await repository.get_department(coordinator)
    if holder is None or not holder.active:
        raise InputRejected(
            f"the coordinator {coordinator} the registry names for matter {matter_code} is inactive",
            rule="registry.coordinator",
            field="coordinator",
        )
    return LaunchRoles(initiators=info.initiators, coordinator=coordinator, supervisors=supervisors)


async def handoff_coordinator(session: AsyncSession, matter_code: str, locality_code: str | None) -> str | None:
    """The coordinator of a matter's hand-offs (who may reroute and terminate them), found as for cases; None when
    the matter is unknown or the registry names none. `locality_code` is where the triggering case was handled."""
    repository = RegistryRepository(session)
    if await repository.get_matter(matter_code) is None:
        return None
    locality = await repository.get_department(locality_code) if locality_code is not None else None
    coordinator, _ = await _roles(repository, matter_code, locality)
    return coordinator


async def _roles(
    repository: RegistryRepository, matter_code: str, locality: Department | None
) -> tuple[str | None, list[str]]:
    scopes: list[tuple[str | None, str | None]] = [(matter_code, None)]
    scopes += [(None, code) for code in await _area_and_parents(repository, locality)]
    scopes.append((None, None))
    coordinator: str | None = None
    supervisors: list[str] | None = None
    for matter, area in scopes:
        named = await repository.roles_for(matter, area)
        if coordinator is None:
            coordinator = next((r.department_code for r in named if r.role == CaseRole.COORDINATOR.value), None)
        if supervisors is None:
            found = [r.department_code for r in named if r.role == CaseRole.SUPERVISOR.value]
            supervisors = found or None
        if coordinator is not None and supervisors is not None:
            break
    return coordinator, supervisors or []


async def _area_and_parents(repository: RegistryRepository, department: Department | None) -> list[str]:
    """The department and its ancestors, nearest first: an entry names roles for the cases in its whole area."""
    codes: list[str] = []
    current = department
    while current is not None and current.code not in codes:
        codes.append(current.code)
        current = await repository.get_department(current.parent_code) if current.parent_code else None
    return codes
