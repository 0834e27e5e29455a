"""The registry's sections for departments working for each other: the sample's examples load, and what breaks a
rule is refused with the file, the record and the field named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.collaboration import CollaborationRepository
from schemas.joint.definition import JointMatter, StepMode
from services.registry.importer import RegistryRejected, import_registry
from tests.support.department_world import sample_store
from workers.resources import open_resources
from workers.settings import Settings


@pytest.fixture
async def sample(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    store = await sample_store(tmp_path)
    async with open_resources(Settings(data_dir=tmp_path, store_url=store)) as resources:
        yield resources.sessions


async def test_the_sample_carries_the_one_thing_examples_and_the_daily_prices(
    sample: async_sessionmaker[AsyncSession],
) -> None:
    async with sample() as session:
        repository = CollaborationRepository(session)
        matters = {row.code: JointMatter.model_validate(row.definition) for row in await repository.joint_matters()}
        items = {row.code: row for row in await repository.shared_items()}
        prices = await repository.scheduled_delivery("FGW-NCP-JG")

    assert set(matters) == {"GJJ-TQ", "LZF-BZ", "CL-KSZY"}
    transfer = matters["CL-KSZY"]  # the cross-city vehicle transfer: one office hour, from five working days
    assert (transfer.limit.amount, transfer.limit.unit) == (1, "office-hours")
    assert {step.department for step in transfer.steps} == {"SQ-GAJ-JJ"}
    assert items["SW-CLGZS"].department_code == "SQ-SWJ" and items["SW-CLGZS"].grantees == ["SQ-GAJ-JJ"]
    withdrawal = matters["GJJ-TQ"]
    automatic = [step for step in withdrawal.steps if step.mode is StepMode.VERIFICATION]
    assert [(step.code, step.item) for step in automatic] == [("marriage", "MZ-HYDJ")]
    assert items["MZ-HYDJ"].grantees == ["SQ-GJJ"] and items["MZ-HYDJ"].department_code == "SQ-MZJ"
    assert prices is not None and (prices.deliverer, prices.receiver, prices.due) == ("SQ-FGW", "SQ-SCJGJ", "11:00")


async def test_broken_references_and_a_cycle_are_refused(
    sample: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(
        "shared_items:\n"
        "  - {code: X-1, name: 核驗, department: SQ-NOPE, system: s, endpoint_url: 'https://x.example.org/v',"
        " secret_ref: x, grantees: [SQ-GJJ]}\n"
        "deliveries:\n"
        "  - {code: D-1, name: 報送, deliverer: SQ-FGW, receiver: SQ-SCJGJ, due: '11:00', missing_after: '10:00'}\n"
        "joint_matters:\n"
        "  - code: J-1\n"
        "    name: 一件事\n"
        "    limit: 3 working-days\n"
        "    steps:\n"
        "      - {code: a, name: A, department: SQ-GJJ, after: [b], limit: 1 working-days}\n"
        "      - {code: b, name: B, department: SQ-GJJ, after: [a], limit: 1 working-days}\n",
        encoding="utf-8",
    )

    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sample, [file])

    found = {(problem.where, problem.field) for problem in rejected.value.problems}
    assert ("shared_items[0] (X-1)", "department") in found
    assert ("deliveries[0] (D-1)", "-") in found
    assert any(where.startswith("joint_matters[0]") for where, _ in found)
    assert "cycle" in " ".join(problem.rule for problem in rejected.value.problems)
