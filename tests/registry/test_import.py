"""Registry import: the sample, re-import, the bad-input cases (all or nothing, every problem listed), CSV tables."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.store.registry import (
    CollaborationMatter,
    Department,
    DepartmentDirectory,
    DepartmentFunction,
    MatterStepLimit,
    RegistryRepository,
    RosterEntry,
)
from services.registry.importer import RegistryRejected, import_registry
from services.registry.sample import SAMPLE_REGISTRY, load_sample_registry_if_empty
from tests.registry.conftest import count, registry_rows

WriteYaml = Callable[[str, dict[str, Any]], Path]
WriteText = Callable[[str, str], Path]

SMALL: dict[str, Any] = {
    "departments": [
        {
            "code": "T",
            "name": "測試市人民政府",
            "level": "city",
            "roster": [{"role": "liaison", "name": "示例甲", "phone": "13800009001"}],
        },
        {
            "code": "T-SPJ",
            "name": "測試市行政審批局",
            "level": "city",
            "parent": "T",
            "functions": {"approval": [{"code": "SP-1", "name": "許可一"}]},
            "roster": [
                {"role": "liaison", "name": "示例乙", "phone": "13800009002"},
                {"role": "backup", "name": "示例丙", "phone": "13800009003"},
            ],
        },
        {
            "code": "T-JG",
            "name": "測試市監管局",
            "level": "city",
            "parent": "T",
            "functions": {"supervision": [{"code": "JG-1", "name": "監管一"}]},
        },
        {"code": "T-XQ", "name": "測試縣人民政府", "level": "county", "parent": "T", "locality": True},
    ],
    "matters": [
        {
            "code": "M-CASE",
            "name": "項目問題",
            "kind": "case",
            "trigger": "issue_raised",
            "lead": "T-JG",
            "limits": {"sign": "1 working-days", "commit": "2 working_days"},
            "extension_cap": "10 working-days",
        },
        {
            "code": "M-A2S",
            "name": "許可一 → 監管一",
            "kind": "approval_supervision",
            "direction": "approval_to_supervision",
            "trigger": "case_closed",
            "trigger_item": "SP-1",
            "target_item": "JG-1",
            "initiators": ["T-SPJ"],
            "claim_mode": "on_push",
            "limits": {"claim": "2 working-days", "end_to_end": "3 working-days"},
        },
    ],
}


def small() -> dict[str, Any]:
    return copy.deepcopy(SMALL)


async def test_the_sample_registry_imports_and_again_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await import_registry(sessions, [SAMPLE_REGISTRY])
    assert first.departments.created >= 25
    assert first.matters.created >= 10
    assert first.changed
    rows = await registry_rows(sessions)

    again = await import_registry(sessions, [SAMPLE_REGISTRY])

    assert not again.changed
    assert again.departments.unchanged == first.departments.created
    assert again.roster.unchanged == first.roster.created
    assert await registry_rows(sessions) == rows  # no duplicates, not even new ids


async def test_the_sample_covers_the_seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    await import_registry(sessions, [SAMPLE_REGISTRY])
    async with sessions() as session:
        registry = RegistryRepository(session)
        names = {d.name for d in await registry.departments()}
        matters = await registry.matters()
    for name in ("宿遷市行政審批局", "宿遷市發展和改革委員會", "宿遷市工業和信息化局", "宿遷市市場監督管理局"):
        assert name in names
    for name in ("宿城區人民政府", "宿豫區人民政府", "沭陽縣人民政府", "泗陽縣人民政府", "泗洪縣人民政府"):
        assert name in names
    assert {"case", "approval_supervision", "approval_handoff", "registration_notice"} <= {m.kind for m in matters}
    assert await count(sessions, RosterEntry) >= 2 * len(names)


async def test_the_sample_loads_only_into_an_empty_registry(sessions: async_sessionmaker[AsyncSession]) -> None:
    loaded = await load_sample_registry_if_empty(sessions)
    assert loaded is not None and loaded.departments.created > 0
    assert await load_sample_registry_if_empty(sessions) is None


BAD_INPUTS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str, str]] = {
    # case: (break the file, where, field, words of the rule)
    "unknown department": (
        lambda r: r["matters"][0].__setitem__("lead", "T-NOPE"),
        "matters[0] (M-CASE)",
        "lead",
        "unknown department T-NOPE",
    ),
    "duplicate code": (
        lambda r: r["departments"].append({"code": "T-JG", "name": "重複", "level": "city", "parent": "T"}),
        "departments[4] (T-JG)",
        "code",
        "duplicate: T-JG is already defined at bad.yaml: departments[2] (T-JG)",
    ),
    "limit without a unit": (
        lambda r: r["matters"][0]["limits"].__setitem__("sign", 1),
        "matters[0] (M-CASE)",
        "limits.sign",
        "the limit 1 has no unit",
    ),
    "cycle in department parents": (
        lambda r: r["departments"][0].__setitem__("parent", "T-XQ"),
        "departments[0] (T)",
        "parent",
        "the parents form a cycle: T → T-XQ → T",
    ),
    "roster person without a contact": (
        lambda r: r["departments"][1]["roster"][1].pop("phone"),
        "departments[1] (T-SPJ).roster[1]",
        "phone",
        "every roster person needs a contact",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_a_bad_file_is_rejected_whole_and_changes_nothing(
    case: str, sessions: async_sessionmaker[AsyncSession], write_yaml: WriteYaml
) -> None:
    await import_registry(sessions, [write_yaml("good.yaml", small())])
    before = await registry_rows(sessions)
    breaks, where, field, rule = BAD_INPUTS[case]
    registry = small()
    registry["departments"][1]["name"] = "改了名的審批局"  # a valid change that must not land either
    breaks(registry)

    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [write_yaml("bad.yaml", registry)])

    assert [(p.file, p.where, p.field) for p in rejected.value.problems] == [("bad.yaml", where, field)]
    assert rule in rejected.value.problems[0].rule
    assert f"bad.yaml: {where}: {field}: " in str(rejected.value)
    assert await registry_rows(sessions) == before


async def test_every_problem_is_listed_at_once(
    sessions: async_sessionmaker[AsyncSession], write_yaml: WriteYaml
) -> None:
    registry = small()
    for breaks, *_ in BAD_INPUTS.values():
        breaks(registry)

    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [write_yaml("bad.yaml", registry)])

    fields = sorted((p.where, p.field) for p in rejected.value.problems)
    assert fields == sorted((where, field) for _, where, field, _ in BAD_INPUTS.values())
    assert await count(sessions, Department) == 0


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (lambda r: r["matters"][0]["limits"].__setitem__("claim", "1 working-days"), "limits.claim", "not a step"),
        (lambda r: r["matters"][0]["limits"].__setitem__("sign", "0.5 working-days"), "limits.sign", "whole number"),
        (lambda r: r["matters"][0]["limits"].__setitem__("sign", "1 fortnights"), "limits.sign.unit", "working-days"),
        (lambda r: r["matters"][0].__setitem__("card_profile", "lenient"), "card_profile", "near-due"),
        (lambda r: r["matters"][1].__setitem__("target_item", "JG-NONE"), "target_item", "no department holds"),
        (lambda r: r["matters"][1].__setitem__("direction", "approval_to_approval"), "direction", "goes"),
        (
            lambda r: r["departments"][2].__setitem__("webhook_url", "https://jg.example.org/push"),
            "secret_ref",
            "signed",
        ),
        (lambda r: r["departments"][2].__setitem__("levle", "city"), "levle", "not a field"),
        (lambda r: r["departments"][1].__setitem__("locality", True), "locality", "county, district or zone"),
        (lambda r: r["departments"][1]["roster"][0].__setitem__("matter", "M-NONE"), "matter", "unknown matter"),
    ],
)
async def test_rules_name_the_field(
    change: Callable[[dict[str, Any]], None],
    field: str,
    rule: str,
    sessions: async_sessionmaker[AsyncSession],
    write_yaml: WriteYaml,
) -> None:
    registry = small()
    change(registry)
    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [write_yaml("bad.yaml", registry)])
    assert [p.field for p in rejected.value.problems] == [field]
    assert rule in rejected.value.problems[0].rule


async def test_a_later_file_may_refer_to_what_the_registry_holds(
    sessions: async_sessionmaker[AsyncSession], write_yaml: WriteYaml
) -> None:
    await import_registry(sessions, [write_yaml("good.yaml", small())])
    addition = {
        "departments": [{"code": "T-XQ-JG", "name": "測試縣監管局", "level": "county", "parent": "T-XQ"}],
        "matters": [{"code": "M-2", "name": "另一問題", "kind": "case", "trigger": "issue_raised", "lead": "T-XQ-JG"}],
    }
    summary = await import_registry(sessions, [write_yaml("more.yaml", addition)])
    assert (summary.departments.created, summary.matters.created) == (1, 1)
    assert await count(sessions, Department) == 5


async def test_a_cycle_through_stored_parents_is_found(
    sessions: async_sessionmaker[AsyncSession], write_yaml: WriteYaml
) -> None:
    await import_registry(sessions, [write_yaml("good.yaml", small())])
    moved = {"departments": [{"code": "T", "name": "測試市人民政府", "level": "city", "parent": "T-SPJ"}]}
    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [write_yaml("moved.yaml", moved)])
    assert "T → T-SPJ → T" in rejected.value.problems[0].rule


async def test_changes_replace_what_the_file_states_and_keep_the_rest(
    sessions: async_sessionmaker[AsyncSession], write_yaml: WriteYaml
) -> None:
    await import_registry(sessions, [write_yaml("good.yaml", small())])
    registry = small()
    registry["departments"][1]["roster"] = [{"role": "liaison", "name": "示例丁", "phone": "13800009004"}]
    registry["departments"][1]["functions"]["approval"].append({"code": "SP-2", "name": "許可二"})
    del registry["departments"][0]["roster"]  # not stated: kept as it is
    registry["matters"][1]["limits"] = {"claim": "1 working-days"}
    registry["matters"][1]["collaborators"] = ["T-JG"]

    summary = await import_registry(sessions, [write_yaml("good.yaml", registry)])

    assert (summary.roster.updated, summary.roster.unchanged) == (1, 0)
    assert (summary.functions.updated, summary.functions.unchanged) == (1, 1)
    assert (summary.matters.updated, summary.matters.unchanged) == (1, 1)
    async with sessions() as session:
        registry_repository = RegistryRepository(session)
        assert [e.person_name for e in await registry_repository.roster_of("T-SPJ")] == ["示例丁"]
        assert [e.person_name for e in await registry_repository.roster_of("T")] == ["示例甲"]
        assert [f.item_code for f in await registry_repository.functions_of("T-SPJ")] == ["SP-1", "SP-2"]
        matter = await registry_repository.get_matter("M-A2S")
        assert matter is not None
        assert sorted((p.role, p.department_code) for p in matter.parties) == [
            ("collaborator", "T-JG"),
            ("initiator", "T-SPJ"),
        ]
    assert await count(sessions, MatterStepLimit) == 3  # M-CASE's two, and M-A2S's one: none left over
    assert await count(sessions, DepartmentFunction) == 3
    assert await count(sessions, CollaborationMatter) == 2


DEPARTMENTS_CSV = """code,name,level,parent,locality,active
C,測試市,city,,,
C-SPJ,測試審批局,city,C,,
C-WJ,測試衛健委,city,C,,
C-X,測試區,district,C,true,
"""
FUNCTIONS_CSV = """department,kind,item_code,item_name
C-SPJ,approval,SP-9,許可九
C-WJ,supervision,JG-9,監管九
"""
ROSTER_CSV = """department,matter,role,name,phone
C-SPJ,,liaison,示例戊,13800009005
C-SPJ,M-9,liaison,示例己,13800009006
C-WJ,,liaison,示例庚,13800009007
"""
MATTERS_CSV = "\n".join(
    [
        "code,name,kind,direction,trigger,trigger_item,target_item,initiators,lead,collaborators,claim_mode,limits",
        "M-9,許可九 → 監管九,approval_supervision,approval_to_supervision,case_closed,SP-9,JG-9,C-SPJ,,,explicit,"
        "claim=2 working-days; feedback=3 working-days",
        "M-10,區裡的問題,case,,issue_raised,,,C-SPJ;C-WJ,C-WJ,C-SPJ,,sign=1 working-days",
    ]
)


async def test_csv_tables_import_together(sessions: async_sessionmaker[AsyncSession], write_text: WriteText) -> None:
    files = [
        write_text("roster.csv", ROSTER_CSV),
        write_text("matters.csv", MATTERS_CSV),
        write_text("functions.csv", FUNCTIONS_CSV),
        write_text("departments.csv", DEPARTMENTS_CSV),
    ]
    summary = await import_registry(sessions, files)
    assert (summary.departments.created, summary.matters.created, summary.functions.created) == (4, 2, 2)
    assert summary.roster.created == 2  # two departments' rosters
    async with sessions() as session:
        registry = RegistryRepository(session)
        matter = await registry.get_matter("M-10")
        assert matter is not None
        assert sorted((p.role, p.department_code) for p in matter.parties) == [
            ("collaborator", "C-SPJ"),
            ("initiator", "C-SPJ"),
            ("initiator", "C-WJ"),
            ("lead", "C-WJ"),
        ]
        district = await registry.get_department("C-X")
        assert district is not None and district.is_locality
    assert not (await import_registry(sessions, files)).changed


async def test_csv_problems_name_the_row(sessions: async_sessionmaker[AsyncSession], write_text: WriteText) -> None:
    roster = "department,role,name,phone\nC-NOPE,liaison,示例辛,13800009008\nC-NOPE,backup,示例壬,\n"
    departments = "code,name,level,colour\nC,測試市,metropolis,red\n"
    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, [write_text("roster.csv", roster), write_text("departments.csv", departments)])
    found = {(p.file, p.where, p.field) for p in rejected.value.problems}
    assert found == {
        ("roster.csv", "row 2", "department"),
        ("roster.csv", "row 3", "department"),
        ("roster.csv", "row 3", "phone"),
        ("departments.csv", "header", "colour"),
        ("departments.csv", "row 2 (C)", "level"),
    }


async def test_unreadable_files_are_named(sessions: async_sessionmaker[AsyncSession], write_text: WriteText) -> None:
    files = [write_text("broken.yaml", "departments: [\n"), write_text("people.csv", "who,what\nx,y\n")]
    with pytest.raises(RegistryRejected) as rejected:
        await import_registry(sessions, files)
    assert [(p.file, p.where) for p in rejected.value.problems] == [("broken.yaml", "file"), ("people.csv", "header")]


async def test_an_import_reaches_the_departments_a_worker_keeps(
    sessions: async_sessionmaker[AsyncSession], write_yaml: Callable[[str, dict[str, Any]], Path]
) -> None:
    """A worker keeps the departments between registry changes: the import bumps the stamp in its transaction, so
    the next lookup after it sees the new name, and without an import the kept copy serves."""
    directory = DepartmentDirectory()
    await import_registry(sessions, [SAMPLE_REGISTRY])
    async with sessions() as session:
        before = await directory.get(session, "SQ-SCJGJ")
        assert before is not None and await directory.get(session, "SQ-SCJGJ") is before
    changed = write_yaml(
        "fix.yaml",
        {
            "departments": [
                {
                    "code": "SQ-SCJGJ",
                    "name": "宿遷市市場監督管理局 (renamed)",
                    "level": "city",
                    "parent": "SQ",
                }
            ]
        },
    )
    await import_registry(sessions, [changed])
    async with sessions() as session:
        after = await directory.get(session, "SQ-SCJGJ")
    assert after is not None and after.name == "宿遷市市場監督管理局 (renamed)"
