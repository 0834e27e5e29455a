"""`caseloop inbox` through the front door: a department reads and acknowledges its own pushes, and only its own."""

from __future__ import annotations

import json
import uuid

import pytest

from caseloop.errors import EXIT_FORBIDDEN, EXIT_NOT_FOUND, EXIT_REJECTED
from tests.cli.conftest import LABOUR_BUREAU
from tests.support.department_world import APPROVAL_BUREAU, eventually, run_cli

LABOUR = ("--as-department", LABOUR_BUREAU)


async def inbox_items(capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict]:
    code = await run_cli("inbox", *LABOUR, "--json", *flags)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    items: list[dict] = json.loads(captured.out)["items"]
    return items


async def test_the_inbox_command_lists_and_acknowledges(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    reference = f"SQ-SP-{uuid.uuid4().hex[:10]}"
    report = ("handoff", "report", "--as-department", APPROVAL_BUREAU, "--reference", reference)
    assert await run_cli(*report, "--event", "case_closed", "--item-code", "SP-LWPQ", "--decision", "grant") == 0
    capsys.readouterr()
    # The push reaches the labour bureau's inbox (it has no webhook) a moment after the report.
    items = await eventually(
        lambda: inbox_items(capsys), lambda found: any(reference in json.dumps(item) for item in found)
    )
    [item] = [item for item in items if reference in json.dumps(item)]

    assert await run_cli("inbox", *LABOUR) == 0
    listing = capsys.readouterr().out
    assert f"inbox of {LABOUR_BUREAU}:" in listing and item["push_id"] in listing
    assert await run_cli("inbox", LABOUR_BUREAU, *LABOUR) == 0, "naming its own department is fine"
    capsys.readouterr()

    item_id = str(item["item_id"])
    assert await run_cli("inbox", "ack", item_id, "--as-department", APPROVAL_BUREAU) == EXIT_NOT_FOUND
    assert await run_cli("inbox", "ack", item_id, "--by", "zhang.san", *LABOUR) == 0
    assert f"acknowledged #{item_id}" in capsys.readouterr().out
    assert await run_cli("inbox", "ack", item_id, *LABOUR) == 0, "acknowledging again is harmless"
    assert "by zhang.san" in capsys.readouterr().out
    assert item["item_id"] not in {found["item_id"] for found in await inbox_items(capsys)}
    assert item["item_id"] in {found["item_id"] for found in await inbox_items(capsys, "--all", "--limit", "1000")}


async def test_the_inbox_command_refuses_bad_input_with_exit_codes(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli("inbox", APPROVAL_BUREAU, *LABOUR) == EXIT_FORBIDDEN, "another department's inbox"
    assert APPROVAL_BUREAU in capsys.readouterr().err
    assert await run_cli("inbox", "ack", "999999", *LABOUR) == EXIT_NOT_FOUND
    assert await run_cli("inbox", "ack", "first", *LABOUR) == EXIT_REJECTED
    assert "ID must be a positive item number" in capsys.readouterr().err
