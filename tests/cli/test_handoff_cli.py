"""A whole hand-off through `caseloop handoff …` and the front door on the dev server, each department with its
development key: report, claim, act, feedback with a finding, acknowledge; the loop-2 hand-off it starts; a batch
from a file; and the exit codes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from caseloop.errors import EXIT_FORBIDDEN, EXIT_NOT_FOUND, EXIT_REJECTED
from tests.cli.conftest import LABOUR_BUREAU
from tests.support.department_world import APPROVAL_BUREAU, eventually, run_cli

APPROVAL = ("--as-department", APPROVAL_BUREAU)
LABOUR = ("--as-department", LABOUR_BUREAU)


async def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = await run_cli(*argv, "--json")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


async def test_a_hand_off_from_report_to_closed_loop_on_the_command_line(
    cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = f"SQ-SP-{uuid.uuid4().hex[:10]}"
    report = (
        *("handoff", "report", *APPROVAL, "--reference", reference),
        *("--event", "case_closed", "--item-code", "SP-LWPQ", "--decision", "grant"),
        *("--package", '{"licence_no": "LW-2026-7"}'),
    )
    reported = await run_json(capsys, *report)
    assert reported["outcome"] == "started"
    [started] = reported["handoffs"]
    handoff_id = started["handoff_id"]
    assert started["receiver_code"] == LABOUR_BUREAU
    assert await run_cli(*report) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"event {APPROVAL_BUREAU}:case_closed:{reference}: duplicate",
        f"  {handoff_id} → {LABOUR_BUREAU}",
    ]

    await eventually(lambda: run_json(capsys, "handoff", "show", handoff_id, *LABOUR), lambda v: v["stage"] == "pushed")
    receiver = ("--as", "receiver", *LABOUR)
    assert await run_cli("handoff", "claim", handoff_id, "--as", "receiver", *APPROVAL) == EXIT_FORBIDDEN
    assert "receiver" in capsys.readouterr().err
    assert await run_cli("handoff", "claim", handoff_id, *receiver, "--command-id", f"claim-{reference}") == 0
    assert await run_cli("handoff", "claim", handoff_id, *receiver, "--command-id", f"claim-{reference}") == 0
    assert capsys.readouterr().out.splitlines() == [f"{handoff_id} is claimed"] * 2
    assert await run_cli("handoff", "start-acting", handoff_id, *receiver, "--measure", "verify the pledge") == 0
    assert capsys.readouterr().out == f"{handoff_id} is acting\n"

    feedback = tmp_path / "feedback.yaml"
    feedback.write_text(
        "result: the dispatch agency has no registered capital\n"
        "findings:\n"
        "  - kind: false_pledge\n"
        "    reference: 宿人社監〔2026〕7號\n"
        "    decided_at: 2026-06-01T10:00:00+08:00\n",
        encoding="utf-8",
    )
    sent = await run_json(capsys, "handoff", "feedback", handoff_id, *receiver, "--file", str(feedback))
    assert sent["stage"] == "feedback_sent"
    [loop_two] = sent["loop_two"]
    acknowledged = ("handoff", "acknowledge", handoff_id, "--as", f"originator:{APPROVAL_BUREAU}", *APPROVAL)
    assert (await run_json(capsys, *acknowledged, "--remark", "revocation started"))["stage"] == "loop_closed"

    assert await run_cli("handoff", "show", loop_two, *APPROVAL) == 0
    shown = capsys.readouterr().out
    assert "direction        supervision_to_approval" in shown and f"thread           {handoff_id}" in shown

    listed = await eventually(
        lambda: run_json(
            capsys, "handoff", "list", *LABOUR, "--matter", "SQ-SG-LWPQ", "--stage", "loop_closed", "--limit", "1000"
        ),
        lambda found: handoff_id in {s["handoff_id"] for s in found},
    )
    assert {s["receiver"] for s in listed if s["handoff_id"] == handoff_id} == {LABOUR_BUREAU}
    assert (await run_json(capsys, "handoff", "count", *APPROVAL, "--receiver", APPROVAL_BUREAU))["count"] >= 1
    listing = ("handoff", "list", *LABOUR, "--receiver", LABOUR_BUREAU, "--direction", "approval_to_supervision")
    assert await run_cli(*listing) == 0
    assert capsys.readouterr().out.split()[:7] == ["hand-off", "stage", "colour", "matter", "receiver", "next", "due"]

    batch = tmp_path / "batch.json"
    events = [
        {
            "source_department": APPROVAL_BUREAU,
            "reference": f"SQ-SP-{uuid.uuid4().hex[:10]}",
            "event": "case_closed",
            "item_code": item,
            "occurred_at": "2026-06-01T09:00:00+08:00",
        }
        for item in ("SP-QSXK", "SP-NO-SUCH-ITEM")
    ]
    batch.write_text(json.dumps({"batch_id": f"b-{uuid.uuid4().hex[:8]}", "events": events}), encoding="utf-8")
    batch_report = await run_json(capsys, "handoff", "report-batch", str(batch), *APPROVAL)
    assert [item["outcome"] for item in batch_report["reports"]] == ["started", "unmatched"]
    [started] = batch_report["reports"][0]["handoffs"]
    withdraw = (
        *("handoff", "withdraw", *APPROVAL, "--event", "case_closed"),
        *("--reference", events[0]["reference"], "--reason", "the applicant withdrew"),
    )
    assert await run_cli(*withdraw) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["terminated", started["handoff_id"]]


async def test_hand_off_exit_codes(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("handoff", "show", "handoff-no-such-thing", *APPROVAL) == EXIT_NOT_FOUND
    other = ("--source-department", "SQ-NOBODY", "--reference", "r-1", "--event", "case_closed")
    assert await run_cli("handoff", "report", *APPROVAL, *other, "--item-code", "SP-LWPQ") == EXIT_FORBIDDEN
    assert "SQ-NOBODY" in capsys.readouterr().err
    nowhere = ("--reference", f"r-{uuid.uuid4().hex[:8]}", "--event", "case_closed", "--locality-code", "SQ-NOWHERE")
    assert await run_cli("handoff", "report", *APPROVAL, *nowhere, "--item-code", "SP-LWPQ") == EXIT_REJECTED
    assert "SQ-NOWHERE" in capsys.readouterr().err
    assert await run_cli("handoff", "report", *APPROVAL, "--reference", "r-2") == EXIT_REJECTED
    assert "event" in capsys.readouterr().err
    assert await run_cli("handoff", "claim", "handoff-x", "--as", "boss", *LABOUR) == EXIT_REJECTED
    assert await run_cli("handoff", "claim", "handoff-x", "--as", "system", *LABOUR) == EXIT_REJECTED, "never outside"
    batch = ("handoff", "report-batch", "/nonexistent/batch.yaml", "--batch-id", "b", *APPROVAL)
    assert await run_cli(*batch) == EXIT_REJECTED
    never = ("--event", "case_closed", "--reference", f"none-{uuid.uuid4()}")
    assert await run_cli("handoff", "withdraw", *APPROVAL, *never, "--reason", "nothing to withdraw") == EXIT_REJECTED
