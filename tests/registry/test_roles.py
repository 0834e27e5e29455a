"""The registry names who coordinates and supervises cases: per matter, else per locality, else the defaults; the
import checks those names, and the front door's lookups refuse what the registry cannot place."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store import migrate
from activities.store.base import Base
from activities.store.db import create_engine
from activities.store.registry import RegistryRepository, RegistryRole
from caseloop.errors import InputRejected
from schemas.registry import LaunchRoles
from services.registry.importer import RegistryRejected, import_registry
from services.registry.lookups import matter_info
from services.registry.roles import handoff_coordinator, launch_roles
from tests.registry.conftest import count, registry_rows

Sessions = async_sessionmaker[AsyncSession]
WriteYaml = Callable[[str, dict[str, Any]], Path]
WriteText = Callable[[str, str], Path]


def _department(code: str, **extra: Any) -> dict[str, Any]:
    level = "county" if extra.get("locality") else "city"
    return {"code": code, "name": f"測試部門 {code}", "level": level, "parent": "T", **extra}


def _case(code: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name": f"事項 {code}", "kind": "case", "trigger": "issue_raised", "lead": "T-LEAD", **extra}


WORLD: dict[str, Any] = {
    "defaults": {"coordinator": "T-CENTRE", "supervisors": ["T-DUBAN"]},
    "departments": [
        {"code": "T", "name": "測試市人民政府", "level": "city"},
        _department("T-CENTRE"),
        _department("T-DUBAN"),
        _department("T-LEAD", functions={"supervision": [{"code": "JG-1", "name": "監管一"}]}),
        _department("T-INIT"),
        _department("T-OWN-CO"),
        _department("T-OWN-SUP"),
        _department("T-XQ-CO"),
        _department("T-XQ-SUP"),
        # A county whose entry names its own coordinator and supervisor, and a zone inside it that names nobody.
        _department("T-XQ", locality=True, coordinator="T-XQ-CO", supervisors=["T-XQ-SUP"]),
        {"code": "T-XQ-ZONE", "name": "測試開發區", "level": "zone", "parent": "T-XQ", "locality": True},
        _department("T-YQ", locality=True),
    ],
    "matters": [
        _case("M-OWN", initiators=["T-INIT"], coordinator="T-OWN-CO", supervisors=["T-OWN-SUP", "T-DUBAN"]),
        _case("M-OWN-CO", initiators=["T-INIT", "T-LEAD"], coordinator="T-OWN-CO"),
        _case("M-PLAIN"),
        {
            "code": "M-PUSH",
            "name": "推送",
            "kind": "approval_supervision",
            "direction": "approval_to_supervision",
            "trigger": "case_closed",
            "initiators": ["T-INIT"],
            "collaborators": ["T-LEAD"],
        },
        {
            "code": "M-PUSH-CO",
            "name": "推送(自有協調)",
            "kind": "approval_supervision",
            "direction": "approval_to_supervision",
            "trigger": "case_closed",
            "collaborators": ["T-LEAD"],
            "coordinator": "T-OWN-CO",
        },
    ],
}


def world() -> dict[str, Any]:
    return copy.deepcopy(WORLD)


@pytest.fixture
async def loaded(sessions: Sessions, write_yaml: WriteYaml) -> Sessions:
    await import_registry(sessions, [write_yaml("world.yaml", world())])
    return sessions


async def _launch(sessions: Sessions, matter: str, locality: str) -> LaunchRoles:
    async with sessions() as session:
        return await launch_roles(session, matter, locality)


async def _handoff(sessions: Sessions, matter: str, locality: str | None) -> str | None:
    async with sessions() as session:
        return await handoff_coordinator(session, matter, locality)


@pytest.mark.parametrize(
    ("matter", "locality", "expected"),
    [
        # The matter's own names win over the locality's and the defaults.
        (
            "M-OWN",
            "T-XQ",
            LaunchRoles(initiators=["T-INIT"], coordinator="T-OWN-CO", supervisors=["T-OWN-SUP", "T-DUBAN"]),
        ),
        # Each role is looked up on its own: the matter's coordinator, the locality's supervisors.
        (
            "M-OWN-CO",
            "T-XQ",
            LaunchRoles(initiators=["T-INIT", "T-LEAD"], coordinator="T-OWN-CO", supervisors=["T-XQ-SUP"]),
        ),
        (
            "M-OWN-CO",
            "T-YQ",
            LaunchRoles(initiators=["T-INIT", "T-LEAD"], coordinator="T-OWN-CO", supervisors=["T-DUBAN"]),
        ),
        # Then the locality's entry, or the nearest parent that names any.
        ("M-PLAIN", "T-XQ", LaunchRoles(initiators=[], coordinator="T-XQ-CO", supervisors=["T-XQ-SUP"])),
        ("M-PLAIN", "T-XQ-ZONE", LaunchRoles(initiators=[], coordinator="T-XQ-CO", supervisors=["T-XQ-SUP"])),
        # Then the registry-wide defaults.
        ("M-PLAIN", "T-YQ", LaunchRoles(initiators=[], coordinator="T-CENTRE", supervisors=["T-DUBAN"])),
    ],
)
async def test_roles_come_from_the_matter_then_the_locality_then_the_defaults(
    matter: str, locality: str, expected: LaunchRoles, loaded: Sessions
) -> None:
    assert await _launch(loaded, matter, locality) == expected


async def test_a_hand_off_is_coordinated_by_the_matter_then_the_locality_then_the_defaults(loaded: Sessions) -> None:
    assert await _handoff(loaded, "M-PUSH-CO", "T-XQ") == "T-OWN-CO"
    assert await _handoff(loaded, "M-PUSH", "T-XQ") == "T-XQ-CO"
    assert await _handoff(loaded, "M-PUSH", "T-YQ") == "T-CENTRE"
    assert await _handoff(loaded, "M-PUSH", None) == "T-CENTRE"
    assert await _handoff(loaded, "M-NOPE", None) is None


async def test_the_sample_names_the_business_office_and_the_supervision_office(sample: Sessions) -> None:
    roles = await _launch(sample, "SQ-XM-YDBZ", "SQ-SCQ")
    assert roles == LaunchRoles(initiators=["SQ-FGW", "SQ-GXJ"], coordinator="SQ-YSB", supervisors=["SQ-DCS"])
    assert await _handoff(sample, "SQ-SG-GGCSWS", "SQ-SHY") == "SQ-YSB"


async def test_a_matter_shows_its_own_roles(loaded: Sessions) -> None:
    async with loaded() as session:
        repository = RegistryRepository(session)
        own = matter_info(await repository.get_matter("M-OWN"))  # type: ignore[arg-type]
        plain = matter_info(await repository.get_matter("M-PLAIN"))  # type: ignore[arg-type]
    assert (own.coordinator, own.supervisors) == ("T-OWN-CO", ["T-OWN-SUP", "T-DUBAN"])
    assert (plain.coordinator, plain.supervisors) == (None, [])


async def test_no_coordinator_anywhere_refuses_the_launch(sessions: Sessions, write_yaml: WriteYaml) -> None:
    registry = world()
    del registry["defaults"]
    await import_registry(sessions, [write_yaml("world.yaml", registry)])

    with pytest.raises(InputRejected) as refused:
        await _launch(sessions, "M-PLAIN", "T-YQ")

    assert (refused.value.rule, refused.value.field) == ("registry.coordinator", "coordinator")
    assert "names no coordinator for matter M-PLAIN in T-YQ" in str(refused.value)
    assert await _handoff(sessions, "M-PUSH", "T-YQ") is None
    assert (await _launch(sessions, "M-PLAIN", "T-XQ")).coordinator == "T-XQ-CO"


@pytest.mark.parametrize(
    ("matter", "locality", "rule", "field", "words"),
    [
        ("M-NOPE", "T-XQ", "registry.matter", "matter_code", "does not exist"),
        ("M-RETIRED", "T-XQ", "registry.matter", "matter_code", "retired"),
        ("M-PUSH", "T-XQ", "registry.case-matter", "matter_code", "not a case matter"),
        ("M-PLAIN", "T-NOPE", "registry.locality", "locality_code", "does not exist"),
        ("M-PLAIN", "T-LEAD", "registry.locality", "locality_code", "is not a locality"),
        ("M-PLAIN", "T-GONE", "registry.locality", "locality_code", "inactive"),
    ],
)
async def test_what_the_registry_cannot_place_is_refused_with_its_rule_and_field(
    matter: str, locality: str, rule: str, field: str, words: str, sessions: Sessions, write_yaml: WriteYaml
) -> None:
    registry = world()
    registry["departments"].append(_department("T-GONE", locality=True, active=False))
    registry["matters"].append(_case("M-RETIRED", active=False))
    await import_registry(sessions, [write_yaml("world.yaml", registry)])

    with pytest.raises(InputRejected) as refused:
        await _launch(sessions, matter, locality)

    assert (refused.value.rule, refused.value.field) == (rule, field)
    assert words in str(refused.value)


def _matter(registry: dict[str, Any], code: str) -> dict[str, Any]:
    return next(m for m in registry["matters"] if m["code"] == code)


def _entry(registry: dict[str, Any], code: str) -> dict[str, Any]:
    return next(d for d in registry["departments"] if d["code"] == code)


async def test_every_bad_role_is_listed_at_once_and_nothing_is_written(
    sessions: Sessions, write_yaml: WriteYaml
) -> None:
    registry = world()
    registry["defaults"]["coordinator"] = "T-NOBODY"
    _entry(registry, "T-XQ")["supervisors"] = ["T-XQ-SUP", "T-XQ-SUP"]
    _entry(registry, "T-OWN-SUP")["active"] = False
    _matter(registry, "M-OWN")["coordinator"] = "T-OLD"
    _matter(registry, "M-PUSH")["supervisors"] = ["T-DUBAN"]
    registry["departments"].append(_department("T-OLD", active=False))
    second = {"defaults": {"coordinator": "T-CENTRE"}}

    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [write_yaml("world.yaml", registry), write_yaml("more.yaml", second)])

    found = sorted((p.file, p.where, p.field) for p in rejected.value.problems)
    assert found == sorted(
        [
            ("world.yaml", "defaults", "coordinator"),
            ("world.yaml", "departments[9] (T-XQ)", "supervisors[1]"),
            ("world.yaml", "matters[0] (M-OWN)", "coordinator"),
            ("world.yaml", "matters[0] (M-OWN)", "supervisors[0]"),
            ("world.yaml", "matters[3] (M-PUSH)", "supervisors"),
            ("more.yaml", "defaults", "defaults"),
        ]
    )
    rules = {(p.where, p.field): p.rule for p in rejected.value.problems}
    assert "unknown department T-NOBODY" in rules[("defaults", "coordinator")]
    assert "T-OLD is inactive" in rules[("matters[0] (M-OWN)", "coordinator")]
    assert "T-OWN-SUP is inactive" in rules[("matters[0] (M-OWN)", "supervisors[0]")]
    assert "duplicate" in rules[("departments[9] (T-XQ)", "supervisors[1]")]
    assert "only for case matters" in rules[("matters[3] (M-PUSH)", "supervisors")]
    assert await count(sessions, RegistryRole) == 0


async def test_a_department_still_named_cannot_be_retired(loaded: Sessions, write_yaml: WriteYaml) -> None:
    before = await registry_rows(loaded)
    retire = {"departments": [_department("T-CENTRE", active=False), _department("T-XQ-CO", active=False)]}

    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(loaded, [write_yaml("retire.yaml", retire)])

    rules = sorted((p.where, p.field, p.rule) for p in rejected.value.problems)
    assert rules == [
        (
            "departments[0] (T-CENTRE)",
            "active",
            "T-CENTRE is still the coordinator by default: name another there first",
        ),
        (
            "departments[1] (T-XQ-CO)",
            "active",
            "T-XQ-CO is still the coordinator for cases in T-XQ: name another there first",
        ),
    ]
    assert await registry_rows(loaded) == before

    # Restating the defaults with another coordinator in the same files lets the centre retire.
    retire_centre = {"defaults": {"coordinator": "T-DUBAN"}, "departments": [_department("T-CENTRE", active=False)]}
    await import_registry(loaded, [write_yaml("retire.yaml", retire_centre)])
    assert (await _launch(loaded, "M-PLAIN", "T-YQ")).coordinator == "T-DUBAN"


async def test_roles_import_again_unchanged_and_replace_with_their_record(
    loaded: Sessions, write_yaml: WriteYaml
) -> None:
    rows = await registry_rows(loaded)
    again = await import_registry(loaded, [write_yaml("world.yaml", world())])
    assert not again.changed
    assert again.defaults.unchanged == 1
    assert await registry_rows(loaded) == rows  # not even new ids

    registry = world()
    _matter(registry, "M-OWN")["supervisors"] = ["T-DUBAN", "T-OWN-SUP"]  # order is kept
    del _entry(registry, "T-XQ")["coordinator"]
    registry["defaults"] = {"coordinator": "T-DUBAN"}
    changed = await import_registry(loaded, [write_yaml("world.yaml", registry)])

    assert (changed.matters.updated, changed.departments.updated, changed.defaults.updated) == (1, 1, 1)
    assert (await _launch(loaded, "M-OWN", "T-XQ")).supervisors == ["T-DUBAN", "T-OWN-SUP"]
    assert await _launch(loaded, "M-PLAIN", "T-XQ") == LaunchRoles(
        initiators=[], coordinator="T-DUBAN", supervisors=["T-XQ-SUP"]
    )
    assert await _launch(loaded, "M-PLAIN", "T-YQ") == LaunchRoles(initiators=[], coordinator="T-DUBAN", supervisors=[])


async def test_files_without_defaults_leave_the_stored_ones(loaded: Sessions, write_yaml: WriteYaml) -> None:
    summary = await import_registry(loaded, [write_yaml("more.yaml", {"matters": [_case("M-MORE")]})])
    assert summary.defaults.created + summary.defaults.updated + summary.defaults.unchanged == 0
    assert (await _launch(loaded, "M-MORE", "T-YQ")).coordinator == "T-CENTRE"


async def test_csv_tables_name_roles_too(loaded: Sessions, write_text: WriteText) -> None:
    matters = write_text(
        "matters.csv",
        "code,name,kind,trigger,lead,coordinator,supervisors\nM-CSV,表格事項,case,issue_raised,T-LEAD,T-OWN-CO,T-DUBAN;T-OWN-SUP\n",
    )
    departments = write_text(
        "departments.csv", "code,name,level,parent,locality,coordinator\nT-CSV,表格縣,county,T,true,T-XQ-CO\n"
    )
    await import_registry(loaded, [matters, departments])

    assert await _launch(loaded, "M-CSV", "T-YQ") == LaunchRoles(
        initiators=[], coordinator="T-OWN-CO", supervisors=["T-DUBAN", "T-OWN-SUP"]
    )
    assert (await _launch(loaded, "M-PLAIN", "T-CSV")).coordinator == "T-XQ-CO"


def _role_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        differences = compare_metadata(context, Base.metadata)
    return [d for d in differences if "registry_roles" in repr(d)]


async def test_the_roles_migration_matches_the_model_and_goes_down_and_up(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_role_differences) == []
        await migrate.downgrade(store_url, "0009_credentials")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "registry_roles" not in tables and "collaboration_matters" in tables
        await migrate.upgrade(store_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_role_differences) == []
    finally:
        await engine.dispose()
