"""The Temporal Web UI in a real browser (headless Chromium) shows a case's input decoded to a signed-in supervisor
and encrypted to anyone else: `caseloop up` with a payload key, the codec server's sign-in page, the UI's own Codec
Server setting, and the workflow's page, as a supervisor would use them.

Chromium comes from Debian (`tests/support/ensure-chromium.sh`); Playwright drives it and never downloads a browser.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from temporalio.client import Client

from caseloop import CaseClient
from tests.support.embedded_stack import kill_stack, stack_environment, start_stack, wait_ready

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: run tests/support/ensure-chromium.sh to install Debian's chromium",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.async_api", reason="playwright is missing: pip install -e '.[test]'")

SUPERVISOR = "SQ-DCS"  # the sample registry's supervision office
NOT_A_SUPERVISOR = "SQ-FGW"  # the development and reform commission: launches the case, supervises nothing
TITLE = f"Riverside permit {uuid.uuid4().hex[:6]}"  # what the UI shows only when it can decode the case's input
# As root in a container: no sandbox; nothing reaches out of the machine; a fresh profile per run.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_MS = 20_000  # the longest one page step may take
DECODE_EVENTS = ("payloads decoded", "decode refused: not a supervisor, payloads answered encrypted")


@dataclass
class Stack:
    ui: str
    codec: str
    keys: dict[str, str]
    case_id: str
    ciphertext: str  # the start of the case input's ciphertext, as the UI prints an encrypted payload
    log: Path


async def _launch(env: dict[str, str], keys: dict[str, str]) -> str:
    async with await CaseClient.connect(f"http://127.0.0.1:{env['CASELOOP_API_PORT']}", keys[NOT_A_SUPERVISOR]) as sdk:
        case = await sdk.launch(
            case_number=f"XM-{uuid.uuid4().hex[:8]}", matter_code="SQ-XM-SPSX", locality_code="SQ-SCQ", title=TITLE
        )
    return case.case_id


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """`caseloop up` with a payload key: the embedded UI points at the stack's codec server, and every department
    of the sample registry has a development key in the store."""
    env = stack_environment(tmp_path / "data") | {"CASELOOP_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode()}
    log = tmp_path / "up.log"
    process = start_stack(env, log)
    try:
        wait_ready(process, log)
        keys = json.loads((tmp_path / "data" / "credentials.json").read_text())
        case_id = await _launch(env, keys)
        temporal = await Client.connect(env["CASELOOP_TEMPORAL_TARGET"])
        history = await temporal.get_workflow_handle(case_id).fetch_history()
        [started] = history.events[0].workflow_execution_started_event_attributes.input.payloads
        assert TITLE.encode() not in started.data, "the case input is stored encrypted"
        yield Stack(
            ui=f"http://127.0.0.1:{env['CASELOOP_UI_PORT']}",
            codec=f"http://127.0.0.1:{env['CASELOOP_CODEC_PORT']}",
            keys=keys,
            case_id=case_id,
            ciphertext=base64.b64encode(started.data).decode()[:40],
            log=log,
        )
    finally:
        kill_stack(process)  # a clean stop is test_stack's business; this saves its grace period


async def _sign_in(page: Any, stack: Stack, who: str) -> None:
    """The codec server's sign-in page, as a supervisor uses it: paste the key, press Sign in."""
    await page.goto(f"{stack.codec}/session")
    if await page.locator("#signed-in").count():
        await page.get_by_role("button", name="Sign out").click()
    await page.fill("#credential", stack.keys[who])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("#signed-in")
    assert who in await page.inner_text("#signed-in")


async def _send_the_sign_in_from_the_ui(page: Any, stack: Stack) -> None:
    """The UI's Codec Server setting, once per browser: this endpoint, with cross-origin credentials (the cookie)."""
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{quote(stack.case_id)}")
    await page.locator('[data-testid^="data-encoder-status"]').click()
    await page.get_by_test_id("use-local-endpoint-input").check()
    await page.get_by_test_id("data-encoder-endpoint-input").fill(stack.codec)
    await page.get_by_test_id("data-encoder-include-credentials").check()
    await page.locator("#data-encoder-settings").get_by_test_id("confirm-modal-button").click()


async def _case_page(page: Any, stack: Stack, shows: str, screenshot: Path) -> str:
    """The case's page once its input shows `shows`; the page's text."""
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{quote(stack.case_id)}")
    await page.wait_for_function("text => document.body.innerText.includes(text)", arg=shows, timeout=STEP_MS)
    await page.screenshot(path=str(screenshot), full_page=True)
    return str(await page.inner_text("body"))


def _decodes(log: Path) -> list[dict[str, Any]]:
    """The codec server's decode records in the stack's JSON log."""
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") in DECODE_EVENTS:
                events.append(record)
    return events


async def test_the_ui_shows_a_case_decoded_to_a_signed_in_supervisor_and_encrypted_to_anyone_else(
    stack: Stack, tmp_path: Path
) -> None:
    async with playwright.async_playwright() as driver:
        browser = await driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # fresh: no sign-in, no UI setting from an earlier run
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            page.set_default_timeout(STEP_MS)
            await _sign_in(page, stack, SUPERVISOR)
            [cookie] = [c for c in await browser.cookies() if c["name"].startswith("caseloop-codec")]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert stack.keys[SUPERVISOR] not in cookie["value"], "the cookie is an opaque session id"

            await _send_the_sign_in_from_the_ui(page, stack)
            supervised = await _case_page(page, stack, TITLE, tmp_path / "supervisor.png")
            assert TITLE in supervised and stack.ciphertext not in supervised

            await _sign_in(page, stack, NOT_A_SUPERVISOR)
            other = await _case_page(page, stack, stack.ciphertext, tmp_path / "not-a-supervisor.png")
            assert TITLE not in other, "a department that supervises nothing sees the ciphertext"
        finally:
            await browser.close()

    decodes = _decodes(stack.log)
    decoded_by = {record["department"] for record in decodes if record["event"] == "payloads decoded"}
    refused_to = {record["department"] for record in decodes if record["event"] != "payloads decoded"}
    assert decoded_by == {SUPERVISOR} and refused_to == {NOT_A_SUPERVISOR}, decodes


def test_ensure_chromium_is_quiet_when_chromium_is_there() -> None:
    script = Path(__file__).parent / "support" / "ensure-chromium.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
