"""`caseloop registry import` and `caseloop registry show` against a real store, with their exit codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from caseloop.cli import main
from caseloop.errors import EXIT_NOT_FOUND, EXIT_REJECTED
from services.registry.sample import SAMPLE_REGISTRY
from workers.settings import get_settings


@pytest.fixture
def cli_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CASELOOP_STORE_URL", store_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def run_cli(*argv: str) -> int:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(main, list(argv))


async def test_import_then_show(cli_store: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("registry", "import", str(SAMPLE_REGISTRY)) == 0
    imported = capsys.readouterr().out
    assert "departments: 36 (36 new" in imported
    assert "joint matters: 3 (3 new" in imported and "shared data items: 4 (4 new" in imported
    assert await run_cli("registry", "import", str(SAMPLE_REGISTRY), "--json") == 0
    assert json.loads(capsys.readouterr().out)["departments"]["unchanged"] == 36

    assert await run_cli("registry", "show") == 0
    overview = capsys.readouterr().out
    assert "    SQ-SHY-WJJ  沭陽縣衛生健康局  [county, inbox]" in overview
    assert "SQ-SG-GGCSWS  approval_supervision" in overview
    assert "  12345  12345政務服務便民熱線工單  fed by SQ-12345  [hotline, pushes]" in overview

    assert await run_cli("registry", "show", "--department", "SQ-SPJ", "--matter", "SQ-SG-GGCSWS") == 0
    detail = capsys.readouterr().out
    assert "approval     SP-GGCSWS  公共場所衛生許可" in detail
    assert "138****0013" in detail and "13800000013" not in detail  # masked unless asked
    assert "claim              2 working-days" in detail

    argv = ("registry", "show", "--department", "SQ-SPJ", "--matter", "SQ-SG-GGCSWS", "--contacts", "--json")
    assert await run_cli(*argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [p["phone"] for p in shown["contacts"]] == ["13800000013", "13800000011", "13800000012"]
    assert "SQ-XM-SPSX" in shown["department"]["matters"]["lead"]
    assert "SQ-GS-XZCF" in shown["department"]["matters"]["collaborator"]
    assert shown["matter"]["matter"]["limits"]["claim"] == {"amount": "2", "unit": "working-days"}


async def test_a_rejected_file_exits_2_listing_every_problem(
    cli_store: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "departments:\n"
        "  - {code: A, name: 甲, level: city, parent: B}\n"
        "  - {code: B, name: 乙, level: city, parent: A, roster: [{role: liaison, name: 示例}]}\n",
        encoding="utf-8",
    )
    assert await run_cli("registry", "import", str(bad)) == EXIT_REJECTED
    said = capsys.readouterr().err
    assert "nothing was changed; 2 problem(s)" in said
    assert "bad.yaml: departments[0] (A): parent: the parents form a cycle: A → B → A" in said
    assert "bad.yaml: departments[1] (B).roster[0]: phone: is required" in said


async def test_show_of_an_unknown_code_exits_3(cli_store: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("registry", "show") == 0
    assert "the registry is empty" in capsys.readouterr().out
    assert await run_cli("registry", "show", "--matter", "SQ-NOPE") == EXIT_NOT_FOUND
    assert "matter SQ-NOPE does not exist" in capsys.readouterr().err


async def test_show_tells_who_coordinates_and_supervises(
    cli_store: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert await run_cli("registry", "import", str(SAMPLE_REGISTRY)) == 0
    own = tmp_path / "own.yaml"
    own.write_text(
        "departments:\n"
        "  - {code: SQ-SCQ, name: 宿城區人民政府, level: district, parent: SQ, locality: true, coordinator: SQ-SPJ}\n"
        "matters:\n"
        "  - {code: T-OWN, name: 自有督查的事項, kind: case, trigger: issue_raised, lead: SQ-ZJJ,"
        " coordinator: SQ-FGW, supervisors: [SQ-DCS, SQ]}\n",
        encoding="utf-8",
    )
    assert await run_cli("registry", "import", str(own)) == 0
    capsys.readouterr()

    assert await run_cli("registry", "show") == 0
    assert "defaults: coordinator SQ-YSB; supervisors SQ-DCS" in capsys.readouterr().out
    assert await run_cli("registry", "show", "--matter", "T-OWN", "--department", "SQ-SCQ") == 0
    shown = capsys.readouterr().out
    assert "  coordinator SQ-FGW; supervisors SQ-DCS, SQ" in shown
    assert "  for the cases in its area: coordinator SQ-SPJ; supervisors -" in shown
    assert await run_cli("registry", "show", "--matter", "T-OWN", "--json") == 0
    matter = json.loads(capsys.readouterr().out)["matter"]["matter"]
    assert (matter["coordinator"], matter["supervisors"]) == ("SQ-FGW", ["SQ-DCS", "SQ"])
