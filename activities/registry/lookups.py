"""Registry lookups that workflows run as activities: adapters of `services.registry.lookups`.

Unknown codes are business errors (`NotFound`, `ValidationFailed`, `Rejected`): retrying cannot fix them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.service_errors import as_application_errors
from schemas.registry import (
    CaseParties,
    CasePartiesQuery,
    DepartmentInfo,
    DepartmentQuery,
    HandoffRoute,
    HandoffRouteQuery,
    MatchedMatters,
    MatterInfo,
    MatterQuery,
    TriggerQuery,
)
from services.registry.lookups import RegistryLookups


class RegistryActivities:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._registry = RegistryLookups(session_factory)

    @activity.defn(name="registry_get_department")
    async def get_department(self, query: DepartmentQuery) -> DepartmentInfo:
        with as_application_errors():
            return await self._registry.get_department(query)

    @activity.defn(name="registry_get_matter")
    async def get_matter(self, query: MatterQuery) -> MatterInfo:
        """A matter's kind, limits and card profile; retired matters too, so running cases keep their rules."""
        with as_application_errors():
            return await self._registry.get_matter(query)

    @activity.defn(name="registry_resolve_case_parties")
    async def resolve_case_parties(self, query: CasePartiesQuery) -> CaseParties:
        """The dual launch: the matter's lead department and the locality where the problem is, plus co-units."""
        with as_application_errors():
            return await self._registry.resolve_case_parties(query)

    @activity.defn(name="registry_resolve_handoff_receivers")
    async def resolve_handoff_receivers(self, query: HandoffRouteQuery) -> HandoffRoute:
        """Where a push goes: the matter's fixed collaborators, or whoever holds its target item locally."""
        with as_application_errors():
            return await self._registry.resolve_handoff_receivers(query)

    @activity.defn(name="registry_match_trigger")
    async def match_trigger(self, query: TriggerQuery) -> MatchedMatters:
        """Active hand-off matters that an event starts, e.g. an approval case of item X closed."""
        with as_application_errors():
            return await self._registry.match_trigger(query)
