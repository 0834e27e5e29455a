"""A whole case through `caseloop case …` and the front door on the dev server, each party with its development key
(`--as-department`), its tables and JSON, and every exit code."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from pathlib import Path

import pytest

from caseloop.commands.forms import DEVELOPMENT_CREDENTIALS
from caseloop.errors import EXIT_FORBIDDEN, EXIT_NOT_FOUND, EXIT_REJECTED, EXIT_TIMEOUT, EXIT_UNREACHABLE
from schemas.case.state import case_id_of
from tests.cli.test_cold_start import NOT_FOR_CASE_SHOW, _among, _caseloop
from tests.sdk.world import DEVELOPMENT_REFORM
from tests.support.department_world import BUSINESS_OFFICE, HOUSING, SUCHENG, eventually, run_cli
from workers.settings import get_settings

COORDINATOR = ("--as", "coordinator", "--as-department", BUSINESS_OFFICE)
LEAD = ("--as", "lead", "--as-department", HOUSING)
LOCALITY = ("--as", "locality", "--as-department", SUCHENG)
INITIATOR = ("--as-department", DEVELOPMENT_REFORM)


async def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = await run_cli(*argv, "--json")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def launch_argv(number: str, matter: str) -> tuple[str, ...]:
    return (
        *("case", "launch", *INITIATOR, "--case-number", number, "--matter-code", matter),
        *("--locality-code", SUCHENG, "--title", "尾水管線施工受阻"),
    )


async def test_a_case_from_launch_to_write_off_on_the_command_line(
    cli_env: None, matter: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = f"2026-{uuid.uuid4().hex[:8]}"
    assert await run_cli(*launch_argv(number, matter)) == 0
    case_id = case_id_of(DEVELOPMENT_REFORM, number)
    assert capsys.readouterr().out.split() == [case_id, "registered"]
    assert await run_cli(*launch_argv(number, matter)) == 0, "launching the same case number again is no error"
    assert capsys.readouterr().out.split()[0] == case_id

    commitment = tmp_path / "commitment.yaml"
    commitment.write_text("limit: 15 working-days\nplan: reroute along the canal road\n", encoding="utf-8")
    steps = [
        ("accept", *COORDINATOR),
        ("sign", *LEAD),
        ("sign", *LOCALITY),
        ("commit", *LEAD, "--file", str(commitment)),
        ("cosign-commitment", *LOCALITY),
        ("decide-commitment", *COORDINATOR, "--decision", "accept"),
        ("report-progress", *LEAD, "--summary", "route approved", "--percent-done", "50"),
    ]
    for verb, *flags in steps:
        assert await run_cli("case", verb, case_id, *flags) == 0, verb
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"report_progress: {case_id} is in_progress (seq 10")

    listed = await eventually(
        lambda: run_json(capsys, "case", "list", *INITIATOR, "--matter", matter, "--stage", "in_progress"),
        lambda found: len(found) == 1,
    )
    assert [(s["case_id"], s["lead_department"], s["locality"]) for s in listed] == [(case_id, HOUSING, SUCHENG)]
    assert await run_json(capsys, "case", "count", *INITIATOR, "--matter", matter, "--not-overdue") == {"count": 1}
    assert await run_cli("case", "list", *INITIATOR, "--matter", matter) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["case", "stage", "card", "lead", "locality", "matter", "next", "due", "workflow"]
    assert table[1].split()[:6] == [case_id, "in_progress", "none", HOUSING, SUCHENG, matter]

    report = tmp_path / "report.json"
    report.write_text(json.dumps({"result": "pipeline laid", "evidence": ["photo-1"]}), encoding="utf-8")
    closing = [
        ("submit-closing-report", *LEAD, "--file", str(report), "--requester-confirmed"),
        ("cosign-closing-report", *LOCALITY),
        ("review", *COORDINATOR, "--verdict", "pass"),
        ("rate-follow-up", "--as", "requester", *INITIATOR, "--rating", "satisfied", "--comment", "fast"),
    ]
    for verb, *flags in closing:
        assert await run_cli("case", verb, case_id, *flags) == 0, verb
    capsys.readouterr()
    result = await run_json(capsys, "case", "write-off", number, "--system", DEVELOPMENT_REFORM, *COORDINATOR)
    assert (result["stage"], result["seq"], result["command"]) == ("closed", 15, "write_off")

    shown = await run_json(capsys, "case", "show", number, *INITIATOR)
    assert (shown["stage"], shown["closing"]["requester_confirmed"], shown["closing"]["rating"]) == (
        "closed",
        True,
        "satisfied",
    )
    assert await run_cli("case", "show", case_id, *INITIATOR) == 0
    human = capsys.readouterr().out
    assert "stage          closed" in human and f"lead           {HOUSING}" in human
    timeline = await run_json(capsys, "case", "timeline", case_id, *INITIATOR, "--after", "13")
    assert [entry["action"] for entry in timeline["entries"]] == ["rated", "written_off"]
    assert await run_cli("case", "timeline", case_id, *INITIATOR) == 0
    assert "commitment_accepted" in capsys.readouterr().out


async def test_the_exit_codes_scripts_rely_on(
    cli_env: None, matter: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number = f"2026-{uuid.uuid4().hex[:8]}"
    assert await run_cli(*launch_argv(number, matter)) == 0
    case_id = case_id_of(DEVELOPMENT_REFORM, number)
    assert await run_cli("case", "accept", case_id, *COORDINATOR) == 0
    capsys.readouterr()

    assert await run_cli("case", "request-return", case_id, *LEAD, "--reason", "not ours") == EXIT_REJECTED
    err = capsys.readouterr().err
    assert "legal basis" in err and err.count("(rule return.legal-basis, field legal_basis)") == 1
    assert await run_cli("case", "sign", case_id, "--as", "boss", "--as-department", HOUSING) == EXIT_REJECTED
    assert await run_cli("case", "sign", case_id, "--as-department", HOUSING) == EXIT_REJECTED, "no --as"
    assert await run_cli("case", "sign", case_id, "--as", "lead", "--as-department", SUCHENG) == EXIT_FORBIDDEN
    assert await run_cli("case", "sign", case_id, "--as", f"lead:{HOUSING}", "--as-department", SUCHENG) == (
        EXIT_FORBIDDEN
    )
    assert await run_cli("case", "sign", number, *LEAD) == EXIT_NOT_FOUND, "a case number of the lead's own"
    assert await run_cli("case", "commit", case_id, *LEAD, "--limit", "15") == EXIT_REJECTED
    assert "limit" in capsys.readouterr().err
    assert await run_cli("case", "list", *INITIATOR, "--due-before", "2026-01-01T00:00:00") == EXIT_REJECTED

    note = ("case", "comment", case_id, *COORDINATOR, "--text", "site visit Monday")
    assert await run_cli(*note, "--command-id", "centre-note-1") == 0
    assert await run_cli(*note, "--command-id", "centre-note-1") == 0, "a retried command id is answered again"
    first, again = capsys.readouterr().out.splitlines()
    assert first == again and first.endswith(f"command id {BUSINESS_OFFICE}/centre-note-1)")
    timeline = await run_json(capsys, "case", "timeline", case_id, *INITIATOR)
    assert [entry["action"] for entry in timeline["entries"]].count("commented") == 1

    assert await run_cli("case", "show", "case-hotline-cli-missing", *INITIATOR) == EXIT_NOT_FOUND
    assert await run_cli("case", "sign", "case-hotline-cli-missing", *LEAD) == EXIT_NOT_FOUND
    assert await run_cli("case", "show", case_id, *INITIATOR, "--within", "0.000001") == EXIT_TIMEOUT
    assert "no answer" in capsys.readouterr().err
    assert await run_cli("case", "show", case_id, "--as-department", "SQ-NOBODY") == EXIT_FORBIDDEN
    assert await run_cli("case", "show", case_id) == EXIT_FORBIDDEN, "no credential at all"
    assert "CASELOOP_API_KEY" in capsys.readouterr().err

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("CASELOOP_API_URL", closed)
    get_settings.cache_clear()
    assert await run_cli("case", "show", case_id, *INITIATOR) == EXIT_UNREACHABLE
    assert closed in capsys.readouterr().err


async def test_a_card_appeal_and_a_leaders_meeting_on_the_command_line(
    cli_env: None, matter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    number = f"2026-{uuid.uuid4().hex[:8]}"
    assert await run_cli(*launch_argv(number, matter)) == 0
    case_id = case_id_of(DEVELOPMENT_REFORM, number)
    capsys.readouterr()
    await run_json(capsys, "case", "accept", case_id, *COORDINATOR)
    await run_json(capsys, "case", "request-return", case_id, *LEAD, "--reason", "not ours", "--legal-basis", "三定")
    ruling = ("--department", HOUSING, "--ruling", "uphold", "--reason", "it is yours")
    await run_json(capsys, "case", "rule-on-return", case_id, *COORDINATOR, *ruling)
    [card] = (await run_json(capsys, "case", "show", case_id, *COORDINATOR))["cards"]

    appeal = ("--card-id", card["card_id"], "--reason", "the function list was out of date")
    assert await run_cli("case", "revoke-card", case_id, *LEAD, *appeal) == EXIT_FORBIDDEN
    capsys.readouterr()
    revoked = await run_json(capsys, "case", "revoke-card", case_id, *COORDINATOR, *appeal)
    assert revoked["subject_id"] == card["card_id"]
    meeting = await run_json(
        capsys, "case", "request-joint-meeting", case_id, *COORDINATOR, "--reason", "three districts disagree"
    )
    assert meeting["subject_id"] == "m1"
    outcome = ("--meeting-id", "m1", "--outcome", "the housing bureau leads")
    await run_json(capsys, "case", "record-meeting-outcome", case_id, *COORDINATOR, *outcome)
    view = await run_json(capsys, "case", "show", case_id, *COORDINATOR)
    assert view["cards"][0]["revoked_by"] == BUSINESS_OFFICE
    assert [(m["meeting_id"], m["outcome"]) for m in view["meetings"]] == [("m1", "the housing bureau leads")]
    assert view["supervision_level"] == "leaders_meeting"
    assert await run_cli("case", "show", case_id, *COORDINATOR) == 0
    shown = capsys.readouterr().out
    assert "leaders' meeting" in shown and "why then" in shown and card["card_id"] in shown


async def test_case_show_in_its_own_process_imports_only_what_reading_a_case_needs(
    cli_env: None, matter: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the benchmark's cold start runs it (scenario 7): the console script's process, a key file, the door's URL;
    the case is read and printed without the request models, the hand-offs or the other clients' models."""
    number = f"2026-{uuid.uuid4().hex[:8]}"
    assert await run_cli(*launch_argv(number, matter)) == 0
    capsys.readouterr()
    case_id = case_id_of(DEVELOPMENT_REFORM, number)
    keys = json.loads((get_settings().data_dir / DEVELOPMENT_CREDENTIALS).read_text(encoding="utf-8"))
    key = tmp_path / "key"
    key.write_text(keys[DEVELOPMENT_REFORM], encoding="utf-8")
    argv = ["case", "show", case_id, "--api-url", os.environ["CASELOOP_API_URL"], "--api-key-file", str(key)]
    done, imported = await asyncio.to_thread(_caseloop, argv, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"case           {case_id}" in done.stdout and "stage          registered" in done.stdout
    assert _among(imported, NOT_FOR_CASE_SHOW) == []
