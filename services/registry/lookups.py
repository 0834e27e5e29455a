"""Registry lookups: matters, departments, and who a case or a push goes to.

Unknown codes raise `services.errors.NotFound`, a code of the wrong kind `InvalidInput`, a retired matter or an
inactive party `Refused`: retrying cannot fix them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.leaders_rungs import LeadersRungRepository, LeadersRungRow
from activities.store.registry import CollaborationMatter, Department, RegistryRepository
from schemas.registry import (
    RECEIVER_ITEM_KIND,
    CaseParties,
    CasePartiesQuery,
    CaseRole,
    ClaimMode,
    DeliveryChannel,
    DepartmentInfo,
    DepartmentLevel,
    DepartmentQuery,
    HandoffDirection,
    HandoffRoute,
    HandoffRouteQuery,
    LeadersRung,
    Limit,
    LimitUnit,
    MatchedMatters,
    MatterInfo,
    MatterKind,
    MatterQuery,
    MatterStep,
    PartyRole,
    TriggerEvent,
    TriggerQuery,
)
from services.errors import InvalidInput, NotFound, Refused


def _plain(amount: Decimal) -> Decimal:
    """2.00 from the store reads back as 2, and 0.50 as 0.5."""
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()


def _not_found(what: str) -> NotFound:
    return NotFound(f"{what} does not exist in the registry")


async def department_info(repository: RegistryRepository, department: Department) -> DepartmentInfo:
    return DepartmentInfo(
        code=department.code,
        name=department.name,
        level=DepartmentLevel(department.level),
        parent_code=department.parent_code,
        is_locality=department.is_locality,
        locality_code=await repository.locality_of(department),
        delivery=DeliveryChannel.WEBHOOK if department.webhook_url else DeliveryChannel.INBOX,
        active=department.active,
    )


def matter_info(matter: CollaborationMatter) -> MatterInfo:
    def parties(role: PartyRole) -> list[str]:
        return [p.department_code for p in sorted(matter.parties, key=lambda p: p.position) if p.role == role]

    def limit(amount: Decimal | None, unit: str | None) -> Limit | None:
        return None if amount is None or unit is None else Limit(amount=_plain(amount), unit=LimitUnit(unit))

    leads = parties(PartyRole.LEAD)
    coordinators = [r.department_code for r in matter.roles if r.role == CaseRole.COORDINATOR.value]
    return MatterInfo(
        code=matter.code,
        name=matter.name,
        kind=MatterKind(matter.kind),
        direction=HandoffDirection(matter.direction) if matter.direction else None,
        theme=matter.theme,
        trigger=TriggerEvent(matter.trigger),
        trigger_item=matter.trigger_item,
        target_item=matter.target_item,
        claim_mode=ClaimMode(matter.claim_mode),
        card_profile=matter.card_profile,
        limits={
            MatterStep(row.step): Limit(amount=_plain(row.amount), unit=LimitUnit(row.unit))
            for row in matter.step_limits
        },
        statutory_limit=limit(matter.statutory_limit_amount, matter.statutory_limit_unit),
        extension_cap=limit(matter.extension_cap_amount, matter.extension_cap_unit),
        max_extensions=matter.max_extensions,
        initiators=parties(PartyRole.INITIATOR),
        lead=leads[0] if leads else None,
        collaborators=parties(PartyRole.COLLABORATOR),
        active=matter.active,
        coordinator=coordinators[0] if coordinators else None,
        supervisors=[r.department_code for r in matter.roles if r.role == CaseRole.SUPERVISOR.value],
    )


def _stored_limit(amount: Decimal | None, unit: str | None) -> Limit | None:
    if amount is None or unit is None:
        return None
    return Limit(amount=_plain(amount), unit=LimitUnit(unit))


def _leaders_rung(row: LeadersRungRow) -> LeadersRung:
    return LeadersRung(
        scope=f"{row.scope}:{row.code}",
        after=_stored_limit(row.after_amount, row.after_unit),
        limit=_stored_limit(row.limit_amount, row.limit_unit),
    )


class RegistryLookups:
    """What workflows, the front door and the CLI look up in the registry, one read-only unit of work each."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def get_department(self, query: DepartmentQuery) -> DepartmentInfo:
        async with self._sessions() as session:
            repository = RegistryRepository(session)
            department = await repository.get_department(query.code)
            if department is None:
                raise _not_found(f"department {query.code}")
            return await department_info(repository, department)

    async def get_matter(self, query: MatterQuery) -> MatterInfo:
        """A matter's kind, limits and card profile; retired matters too, so running cases keep their rules."""
        async with self._sessions() as session:
            matter = await RegistryRepository(session).get_matter(query.code)
            if matter is None:
                raise _not_found(f"matter {query.code}")
            return matter_info(matter)

    async def resolve_case_parties(self, query: CasePartiesQuery) -> CaseParties:
        """The dual launch: the matter's lead department and the locality where the problem is, plus co-units."""
        async with self._sessions() as session:
            repository = RegistryRepository(session)
            matter = await repository.get_matter(query.matter_code)
            if matter is None:
                raise _not_found(f"matter {query.matter_code}")
            info = matter_info(matter)
            if info.kind is not MatterKind.CASE:
                raise InvalidInput(f"matter {info.code} is a {info.kind.value} matter, not a case matter")
            if not info.active:
                raise Refused(f"matter {info.code} is retired")
            locality = await repository.get_department(query.locality_code)
            if locality is None:
                raise _not_found(f"locality {query.locality_code}")
            if not locality.is_locality:
                raise InvalidInput(f"{locality.code} ({locality.name}) is not a locality (a county, district or zone)")
            parties = []
            for code in [info.lead, query.locality_code, *info.collaborators]:
                department = await repository.get_department(code) if code else None
                if department is None or not department.active:
                    raise Refused(f"department {code} of matter {info.code} is not active in the registry")
                parties.append(await department_info(repository, department))
            rung = await LeadersRungRepository(session).for_case(info.code, query.locality_code)
            return CaseParties(
                matter=info,
                lead=parties[0],
                locality=parties[1],
                co_units=parties[2:],
                leaders_rung=_leaders_rung(rung) if rung is not None else None,
            )

    async def resolve_handoff_receivers(self, query: HandoffRouteQuery) -> HandoffRoute:
        """Where a push goes: the matter's fixed collaborators, or whoever holds its target item locally."""
        async with self._sessions() as session:
            repository = RegistryRepository(session)
            matter = await repository.get_matter(query.matter_code)
            if matter is None:
                raise _not_found(f"matter {query.matter_code}")
            info = matter_info(matter)
            if info.direction is None:
                raise InvalidInput(f"matter {info.code} is a case matter, not a hand-off")
            excluded = set(query.exclude)
            receivers = []
            for code in info.collaborators:
                department = await repository.get_department(code)
                if department is not None and department.active and code not in excluded:
                    receivers.append(await department_info(repository, department))
            if receivers or info.target_item is None:
                return HandoffRoute(matter=info, receivers=receivers, routed_by_function=False)
            item_kind = RECEIVER_ITEM_KIND[info.direction].value
            receivers, _ = await _holding(repository, item_kind, info.target_item, query.locality_code, excluded)
            return HandoffRoute(matter=info, receivers=receivers, routed_by_function=True)

    async def match_trigger(self, query: TriggerQuery) -> MatchedMatters:
        """Active hand-off matters that an event starts, e.g. an approval case of item X closed."""
        async with self._sessions() as session:
            matters = await RegistryRepository(session).matters_for_trigger(query.trigger.value, query.item_code)
            return MatchedMatters(matters=[matter_info(m) for m in matters if m.kind != MatterKind.CASE.value])


async def _holding(
    repository: RegistryRepository, item_kind: str, item_code: str, locality_code: str | None, excluded: set[str]
) -> tuple[list[DepartmentInfo], bool]:
    infos = [
        await department_info(repository, department)
        for department in await repository.departments_holding(item_kind, item_code)
        if department.active and department.code not in excluded
    ]
    local = [info for info in infos if locality_code is not None and info.locality_code == locality_code]
    if local:
        return local, True
    return [info for info in infos if info.locality_code is None], False
