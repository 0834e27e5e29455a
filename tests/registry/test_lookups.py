"""Registry activities on the Suqian sample: dual-launch parties, hand-off routing by function and locality,
trigger matching, and the roster order the SMS adapter relies on."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.registry.lookups import RegistryActivities
from activities.store.registry import RegistryRepository
from schemas.clock import CardProfileName, ClockUnit
from schemas.registry import (
    CasePartiesQuery,
    DeliveryChannel,
    DepartmentQuery,
    HandoffRouteQuery,
    Limit,
    MatterKind,
    MatterQuery,
    MatterStep,
    TriggerEvent,
    TriggerQuery,
)
from services.registry.importer import import_registry

Sessions = async_sessionmaker[AsyncSession]


async def test_a_case_is_launched_to_the_lead_department_and_the_locality(sample: Sessions) -> None:
    parties = await ActivityEnvironment().run(
        RegistryActivities(sample).resolve_case_parties,
        CasePartiesQuery(matter_code="SQ-XM-YNPF", locality_code="SQ-SHY"),
    )
    assert parties.lead.code == "SQ-FGW"
    assert parties.lead.locality_code is None
    assert (parties.locality.code, parties.locality.is_locality) == ("SQ-SHY", True)
    assert [unit.code for unit in parties.co_units] == ["SQ-STHJJ"]
    assert parties.matter.limits[MatterStep.SIGN] == Limit(amount=Decimal(1), unit=ClockUnit.WORKING_DAYS)
    assert parties.matter.extension_cap == Limit(amount=Decimal(10), unit=ClockUnit.WORKING_DAYS)
    assert CardProfileName(parties.matter.card_profile) is CardProfileName.DEFAULT


async def test_matter_limits_read_back_as_written(sample: Sessions) -> None:
    matter = await ActivityEnvironment().run(RegistryActivities(sample).get_matter, MatterQuery(code="SQ-BHB-CK"))
    assert matter.kind is MatterKind.CASE
    assert str(matter.limits[MatterStep.ACCEPT]) == "0.5 office-hours"
    assert matter.limits[MatterStep.ACCEPT].model_dump(mode="json") == {"amount": "0.5", "unit": "office-hours"}
    assert matter.statutory_limit == Limit(amount=Decimal(5), unit=ClockUnit.WORKING_DAYS)
    assert matter.max_extensions == 0


@pytest.mark.parametrize(
    ("query", "error_type", "words"),
    [
        (CasePartiesQuery(matter_code="SQ-NOPE", locality_code="SQ-SHY"), "NotFound", "matter SQ-NOPE"),
        (CasePartiesQuery(matter_code="SQ-XM-YDBZ", locality_code="SQ-XX"), "NotFound", "locality SQ-XX"),
        (CasePartiesQuery(matter_code="SQ-XM-YDBZ", locality_code="SQ-WJW"), "ValidationFailed", "not a locality"),
        (CasePartiesQuery(matter_code="SQ-SG-GGCSWS", locality_code="SQ-SHY"), "ValidationFailed", "not a case"),
    ],
)
async def test_bad_case_parties_are_business_errors(
    query: CasePartiesQuery, error_type: str, words: str, sample: Sessions
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(RegistryActivities(sample).resolve_case_parties, query)
    assert raised.value.type == error_type
    assert raised.value.non_retryable
    assert words in raised.value.message


@pytest.mark.parametrize(
    ("locality", "exclude", "receivers"),
    [
        ("SQ-SHY", [], ["SQ-SHY-WJJ"]),  # the county has its own health bureau
        ("SQ-SIY", [], ["SQ-SIY-WJJ"]),
        ("SQ-SCQ", [], ["SQ-WJW"]),  # the district has none: the city commission
        (None, [], ["SQ-WJW"]),
        ("SQ-SHY", ["SQ-SHY-WJJ"], ["SQ-WJW"]),  # returned as not its duty: the next in line
    ],
)
async def test_a_push_is_routed_by_the_function_catalogue(
    locality: str | None, exclude: list[str], receivers: list[str], sample: Sessions
) -> None:
    registry = RegistryActivities(sample)
    route = await ActivityEnvironment().run(
        registry.resolve_handoff_receivers,
        HandoffRouteQuery(matter_code="SQ-SG-GGCSWS", locality_code=locality, exclude=exclude),
    )
    assert [r.code for r in route.receivers] == receivers
    assert route.routed_by_function
    assert route.receivers[0].delivery is DeliveryChannel.INBOX


async def test_a_matter_with_named_receivers_goes_to_them(sample: Sessions) -> None:
    route = await ActivityEnvironment().run(
        RegistryActivities(sample).resolve_handoff_receivers,
        HandoffRouteQuery(matter_code="SQ-GS-XZCF", locality_code="SQ-SIY"),
    )
    assert [r.code for r in route.receivers] == ["SQ-SPJ"]
    assert not route.routed_by_function


async def test_events_find_their_matters(sample: Sessions) -> None:
    registry = RegistryActivities(sample)
    closed = await ActivityEnvironment().run(
        registry.match_trigger, TriggerQuery(trigger=TriggerEvent.CASE_CLOSED, item_code="SP-HPSP")
    )
    assert sorted(m.code for m in closed.matters) == ["SQ-SG-HPSP", "SQ-XJ-HPSG"]
    penalty = await ActivityEnvironment().run(
        registry.match_trigger, TriggerQuery(trigger=TriggerEvent.PENALTY_DECIDED, item_code="JG-SPJY")
    )
    assert [m.code for m in penalty.matters] == ["SQ-GS-XZCF"]
    nothing = await ActivityEnvironment().run(
        registry.match_trigger, TriggerQuery(trigger=TriggerEvent.CASE_CLOSED, item_code="SP-UNKNOWN")
    )
    assert nothing.matters == []


async def test_a_department_knows_its_locality(sample: Sessions) -> None:
    registry = RegistryActivities(sample)
    county_bureau = await ActivityEnvironment().run(registry.get_department, DepartmentQuery(code="SQ-SHY-WJJ"))
    assert (county_bureau.locality_code, county_bureau.is_locality) == ("SQ-SHY", False)
    zone = await ActivityEnvironment().run(registry.get_department, DepartmentQuery(code="SQ-YHXQ"))
    assert zone.locality_code == "SQ-YHXQ"
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(registry.get_department, DepartmentQuery(code="SQ-NOPE"))
    assert raised.value.type == "NotFound"


async def test_retired_departments_receive_nothing(
    sample: Sessions, write_yaml: Callable[[str, dict[str, Any]], Path]
) -> None:
    department = {
        "code": "SQ-SHY-WJJ",
        "name": "沭陽縣衛生健康局",
        "level": "county",
        "parent": "SQ-SHY",
        "active": False,
    }
    retire = {"departments": [department]}
    await import_registry(sample, [write_yaml("retire.yaml", retire)])
    route = await ActivityEnvironment().run(
        RegistryActivities(sample).resolve_handoff_receivers,
        HandoffRouteQuery(matter_code="SQ-SG-GGCSWS", locality_code="SQ-SHY"),
    )
    assert [r.code for r in route.receivers] == ["SQ-WJW"]


async def test_roster_names_matter_people_first_then_liaison_before_backup(
    sample: Sessions, write_yaml: Callable[[str, dict[str, Any]], Path]
) -> None:
    roster = [
        {"role": "backup", "name": "示例-通用備份", "phone": "13800008002"},
        {"role": "liaison", "name": "示例-通用聯絡", "phone": "13800008001"},
        {"role": "backup", "name": "示例-事項備份", "phone": "13800008004", "matter": "SQ-SG-GGCSWS"},
        {"role": "liaison", "name": "示例-事項聯絡", "phone": "13800008003", "matter": "SQ-SG-GGCSWS"},
        {"role": "liaison", "name": "示例-別的事項", "phone": "13800008005", "matter": "SQ-SG-SPJY"},
    ]
    department = {"code": "SQ-SPJ", "name": "宿遷市行政審批局", "level": "city", "parent": "SQ", "roster": roster}
    await import_registry(sample, [write_yaml("roster.yaml", {"departments": [department]})])
    async with sample() as session:
        registry = RegistryRepository(session)
        for_matter = await registry.roster_for("SQ-SPJ", "SQ-SG-GGCSWS")
        general = await registry.roster_for("SQ-SPJ", None)
        assert await registry.get_department("SQ-NOPE") is None
    assert [e.person_name for e in for_matter] == ["示例-事項聯絡", "示例-事項備份", "示例-通用聯絡", "示例-通用備份"]
    assert [e.person_name for e in general] == ["示例-通用聯絡", "示例-通用備份"]
