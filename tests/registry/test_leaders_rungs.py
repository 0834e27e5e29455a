"""The registry's `leaders_rungs` section: the matters and localities whose ladder ends in a report to the city
leaders' joint meeting (市領導會辦), read with a case's parties; the matter's rung wins over the locality's."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.registry.lookups import RegistryActivities
from schemas.clock import ClockUnit
from schemas.registry import CasePartiesQuery, LeadersRung, Limit
from services.registry.importer import RegistryRejected, import_registry

Sessions = async_sessionmaker[AsyncSession]
WriteYaml = Callable[[str, dict[str, Any]], Path]
QUERY = CasePartiesQuery(matter_code="SQ-XM-YNPF", locality_code="SQ-SHY")


async def rung_of(sessions: Sessions) -> LeadersRung | None:
    return (await ActivityEnvironment().run(RegistryActivities(sessions).resolve_case_parties, QUERY)).leaders_rung


async def test_a_case_reads_its_matters_rung_before_its_localitys(sample: Sessions, write_yaml: WriteYaml) -> None:
    assert await rung_of(sample) is None
    await import_registry(sample, [write_yaml("locality.yaml", {"leaders_rungs": [{"locality": "SQ-SHY"}]})])
    assert await rung_of(sample) == LeadersRung(scope="locality:SQ-SHY", after=None, limit=None)
    matter = {"matter": "SQ-XM-YNPF", "after": "3 working-days", "limit": "7 working-days"}
    await import_registry(sample, [write_yaml("both.yaml", {"leaders_rungs": [{"locality": "SQ-SHY"}, matter]})])
    three, seven = (Limit(amount=Decimal(days), unit=ClockUnit.WORKING_DAYS) for days in (3, 7))
    assert await rung_of(sample) == LeadersRung(scope="matter:SQ-XM-YNPF", after=three, limit=seven)
    # A file without the section keeps the rungs; an empty section removes them.
    await import_registry(sample, [write_yaml("none.yaml", {"defaults": {}})])
    assert await rung_of(sample) is not None
    await import_registry(sample, [write_yaml("empty.yaml", {"leaders_rungs": []})])
    assert await rung_of(sample) is None


@pytest.mark.parametrize(
    ("entry", "field", "rule"),
    [
        ({"matter": "SQ-NO-SUCH"}, "matter", "SQ-NO-SUCH is not a matter in the registry"),
        ({"locality": "SQ-NOWHERE"}, "locality", "SQ-NOWHERE is not a locality in the registry"),
        ({"matter": "SQ-XM-YNPF", "locality": "SQ-SHY"}, "matter", "name exactly one of matter and locality"),
        ({}, "matter", "name exactly one of matter and locality"),
    ],
)
async def test_a_rung_names_one_known_matter_or_locality(
    sample: Sessions, write_yaml: WriteYaml, entry: dict[str, str], field: str, rule: str
) -> None:
    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sample, [write_yaml("bad.yaml", {"leaders_rungs": [entry]})])
    assert [(p.where, p.field, p.rule) for p in rejected.value.problems] == [("leaders_rungs[0]", field, rule)]
    assert await rung_of(sample) is None
