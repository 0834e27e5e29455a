"""Intake channels in the registry: the sample's four channels import, re-import changes nothing, and a channel
that points at unknown or wrong records is refused by field, with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.intake import IntakeRepository
from services.registry.importer import RegistryRejected, import_registry
from services.registry.sample import SAMPLE_REGISTRY


async def test_the_sample_channels_import_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    first = await import_registry(sessions, [SAMPLE_REGISTRY])
    assert first.channels.created == 4
    async with sessions() as session:
        channels = {row.code: row for row in await IntakeRepository(session).channels()}
    assert set(channels) == {"12345", "HCP", "BHB", "YFK"}
    hotline = channels["12345"]
    assert (hotline.kind, hotline.department_code, hotline.pushes) == ("hotline", "SQ-12345", True)
    assert hotline.categories["0301"] == "SQ-12345-SZ"
    assert hotline.localities["321302"] == "SQ-SCQ"
    assert hotline.address_localities["宿城區"] == "SQ-SCQ"
    assert channels["BHB"].categories == {"0.5": "SQ-BHB-JB05", "1": "SQ-BHB-JB1", "3": "SQ-BHB-JB3"}
    again = await import_registry(sessions, [SAMPLE_REGISTRY])
    assert (again.channels.created, again.channels.updated, again.channels.unchanged) == (0, 0, 4)
    assert not again.changed


async def test_a_channel_pointing_nowhere_is_refused_by_field(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_registry(sessions, [SAMPLE_REGISTRY])
    bad = tmp_path / "channels.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "channels": [
                    {
                        "code": "T-CH",
                        "name": "測試渠道",
                        "kind": "hotline",
                        "department": "NOPE",
                        "categories": {"01": "SQ-SG-GGCSWS", "02": "NO-MATTER"},
                        "localities": {"1": "SQ-SPJ"},
                        "unplaced_matter": "SQ-QD-DFP",
                        "unplaced_locality": "SQ-SCQ",
                        "colour": "red",
                    },
                    {
                        "code": "T-CH2",
                        "name": "測試渠道二",
                        "kind": "fax",
                        "department": "SQ-12345",
                        "unplaced_matter": "SQ-QD-DFP",
                        "unplaced_locality": "SQ-SCQ",
                    },
                ]
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with pytest.raises(RegistryRejected) as refused:
        await import_registry(sessions, [bad])
    found = {(p.field, p.rule.split(":")[0]) for p in refused.value.problems}
    assert ("colour", "is not a field of this record (misspelt?)") in found
    assert ("kind", "Input should be 'hotline', 'rating', 'window' or 'prepaid_card'") in found
    fields = {p.field for p in refused.value.problems}
    assert {"department", "categories.01", "categories.02", "localities.1"} <= fields
    rules = {p.field: p.rule for p in refused.value.problems}
    assert "not a case matter" in rules["categories.01"]
    assert "unknown matter NO-MATTER" in rules["categories.02"]
    assert "not a locality" in rules["localities.1"]
    async with sessions() as session:
        assert {row.code for row in await IntakeRepository(session).channels()} == {"12345", "HCP", "BHB", "YFK"}
