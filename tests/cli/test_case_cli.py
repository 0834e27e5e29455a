"""A whole case through `caseloop case …` on the dev server, its tables and JSON, and every exit code."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from caseloop.errors import EXIT_NOT_FOUND, EXIT_REJECTED, EXIT_TIMEOUT, EXIT_UNREACHABLE
from tests.support.department_world import (
    BUSINESS_OFFICE,
    HOUSING,
    SUCHENG,
    SUPERVISION_OFFICE,
    eventually,
    run_cli,
)
from workers.settings import get_settings


async def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = await run_cli(*argv, "--json")
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


async def test_a_case_from_launch_to_write_off_on_the_command_line(
    cli_env: None, matter: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    launch = (
        *("case", "launch", "--system", "hotline-cli", "--case-number", "2026-0301", "--matter-code", matter),
        *("--locality-code", SUCHENG, "--title", "尾水管線施工受阻", "--coordinator", BUSINESS_OFFICE),
        *("--supervisors", SUPERVISION_OFFICE),
    )
    assert await run_cli(*launch) == 0
    case_id = "case-hotline-cli-2026-0301"
    assert capsys.readouterr().out.split() == [case_id, "registered"]
    assert await run_cli(*launch) == 0, "launching the same case number again is no error"
    assert capsys.readouterr().out.split()[0] == case_id

    commitment = tmp_path / "commitment.yaml"
    commitment.write_text("limit: 15 working-days\nplan: reroute along the canal road\n", encoding="utf-8")
    steps = [
        ("accept", "--as", f"coordinator:{BUSINESS_OFFICE}"),
        ("sign", "--as", f"lead:{HOUSING}"),
        ("sign", "--as", f"locality:{SUCHENG}"),
        ("commit", "--as", f"lead:{HOUSING}", "--file", str(commitment)),
        ("cosign-commitment", "--as", f"locality:{SUCHENG}"),
        ("decide-commitment", "--as", f"coordinator:{BUSINESS_OFFICE}", "--decision", "accept"),
        ("report-progress", "--as", f"lead:{HOUSING}", "--summary", "route approved", "--percent-done", "50"),
    ]
    for verb, *flags in steps:
        assert await run_cli("case", verb, case_id, *flags) == 0, verb
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"report_progress: {case_id} is in_progress (seq 10")

    listed = await eventually(
        lambda: run_json(capsys, "case", "list", "--matter", matter, "--stage", "in_progress"),
        lambda found: len(found) == 1,
    )
    assert [(s["case_id"], s["lead_department"], s["locality"]) for s in listed] == [(case_id, HOUSING, SUCHENG)]
    assert await run_json(capsys, "case", "count", "--matter", matter, "--not-overdue") == {"count": 1}
    assert await run_cli("case", "list", "--matter", matter) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["case", "stage", "card", "lead", "locality", "matter", "next", "due", "workflow"]
    assert table[1].split()[:6] == [case_id, "in_progress", "none", HOUSING, SUCHENG, matter]

    report = tmp_path / "report.json"
    report.write_text(json.dumps({"result": "pipeline laid", "evidence": ["photo-1"]}), encoding="utf-8")
    closing = [
        ("submit-closing-report", "--as", f"lead:{HOUSING}", "--file", str(report), "--requester-confirmed"),
        ("cosign-closing-report", "--as", f"locality:{SUCHENG}"),
        ("review", "--as", f"coordinator:{BUSINESS_OFFICE}", "--verdict", "pass"),
        ("rate-follow-up", "--as", "requester:hotline-cli", "--rating", "satisfied", "--comment", "fast"),
    ]
    for verb, *flags in closing:
        assert await run_cli("case", verb, case_id, *flags) == 0, verb
    capsys.readouterr()
    result = await run_json(
        capsys, "case", "write-off", "2026-0301", "--system", "hotline-cli", "--as", f"coordinator:{BUSINESS_OFFICE}"
    )
    assert (result["stage"], result["seq"], result["command"]) == ("closed", 15, "write_off")

    shown = await run_json(capsys, "case", "show", case_id)
    assert (shown["stage"], shown["closing"]["requester_confirmed"], shown["closing"]["rating"]) == (
        "closed",
        True,
        "satisfied",
    )
    assert await run_cli("case", "show", case_id) == 0
    human = capsys.readouterr().out
    assert "stage          closed" in human and f"lead           {HOUSING}" in human
    timeline = await run_json(capsys, "case", "timeline", case_id, "--after", "13")
    assert [entry["action"] for entry in timeline["entries"]] == ["rated", "written_off"]
    assert await run_cli("case", "timeline", case_id) == 0
    assert "commitment_accepted" in capsys.readouterr().out


async def test_the_exit_codes_scripts_rely_on(
    cli_env: None, matter: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    launch = (
        *("case", "launch", "--system", "hotline-cli", "--case-number", "2026-0302", "--matter-code", matter),
        *("--locality-code", SUCHENG, "--title", "t", "--coordinator", BUSINESS_OFFICE),
    )
    assert await run_cli(*launch) == 0
    case_id = "case-hotline-cli-2026-0302"
    assert await run_cli("case", "accept", case_id, "--as", f"coordinator:{BUSINESS_OFFICE}") == 0
    capsys.readouterr()

    assert await run_cli("case", "request-return", case_id, "--as", f"lead:{HOUSING}", "--reason", "not ours") == (
        EXIT_REJECTED
    )
    err = capsys.readouterr().err
    assert "legal basis" in err and err.count("(rule return.legal-basis, field legal_basis)") == 1
    assert await run_cli("case", "sign", case_id, "--as", "lead") == EXIT_REJECTED
    assert await run_cli("case", "sign", "2026-0302", "--as", f"lead:{HOUSING}") == EXIT_REJECTED, "no --system"
    assert await run_cli("case", "commit", case_id, "--as", f"lead:{HOUSING}", "--limit", "15") == EXIT_REJECTED
    assert "limit" in capsys.readouterr().err
    assert await run_cli("case", "list", "--due-before", "2026-01-01T00:00:00") == EXIT_REJECTED

    note = ("case", "comment", case_id, "--as", f"coordinator:{BUSINESS_OFFICE}", "--text", "site visit Monday")
    assert await run_cli(*note, "--command-id", "centre-note-1") == 0
    assert await run_cli(*note, "--command-id", "centre-note-1") == 0, "a retried command id is answered again"
    first, again = capsys.readouterr().out.splitlines()
    assert first == again and first.endswith("command id centre-note-1)")
    timeline = await run_json(capsys, "case", "timeline", case_id)
    assert [entry["action"] for entry in timeline["entries"]].count("commented") == 1

    assert await run_cli("case", "show", "case-hotline-cli-missing") == EXIT_NOT_FOUND
    assert await run_cli("case", "sign", "case-hotline-cli-missing", "--as", f"lead:{HOUSING}") == EXIT_NOT_FOUND
    assert await run_cli("case", "show", case_id, "--within", "0.000001") == EXIT_TIMEOUT
    assert "no answer" in capsys.readouterr().err

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("CASELOOP_TEMPORAL_TARGET", closed)
    get_settings.cache_clear()
    assert await run_cli("case", "show", case_id) == EXIT_UNREACHABLE
    assert closed in capsys.readouterr().err
