"""Sending a written report: one signed webhook per recipient, to a real HTTP server on 127.0.0.1, verified with the
official Standard Webhooks library; every file arrives whole with its SHA-256; no secret, nothing sent."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
from standardwebhooks import Webhook

from schemas.report_sending import ReportRecipient
from schemas.reports import ReportFile, ReportKind, ReportPeriod, ReportWritten
from services.reports.sending import send_report
from tests.gateway.receiver import Answer, Receiver

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def written(directory: Path) -> ReportWritten:
    directory.mkdir()
    (directory / "report.md").write_text("# 2026-10\n", encoding="utf-8")
    (directory / "on-time.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return ReportWritten(
        period=ReportPeriod.parse(ReportKind.MONTHLY, "2026-10"),
        directory=str(directory),
        files=[
            ReportFile(name="report.md", media_type="text/markdown", bytes=10),
            ReportFile(name="on-time.png", media_type="image/png", bytes=264),
        ],
        cases_opened=3,
        cases_closed=2,
        on_time_rate=None,
        typical_cases=0,
    )


async def test_a_report_reaches_each_recipient_signed_with_every_file(tmp_path: Path) -> None:
    report = written(tmp_path / "monthly-2026-10")
    office, silent = Receiver([Answer(204)]), Receiver([Answer(503)])
    recipients = [
        ReportRecipient(name="SQ-YSB", url=office.url, secret_ref="reports-ysb"),  # type: ignore[arg-type]
        ReportRecipient(name="SQ-DUBAN", url=silent.url, secret_ref="reports-duban"),  # type: ignore[arg-type]
        ReportRecipient(name="SQ-NOKEY", url=office.url, secret_ref="missing"),  # type: ignore[arg-type]
    ]
    secrets = {"reports-ysb": SECRET.encode(), "reports-duban": SECRET.encode()}

    with office.running(), silent.running():
        async with httpx.AsyncClient(timeout=10) as http:
            sent = await send_report(http, report, recipients, secrets.get)

    assert [(s.recipient, s.status, s.delivered) for s in sent] == [
        ("SQ-YSB", 204, True),
        ("SQ-DUBAN", 503, False),
        ("SQ-NOKEY", None, False),
    ]
    assert sent[2].error is not None and "never sent unsigned" in sent[2].error
    [request] = office.requests  # the recipient without its secret got nothing
    body = Webhook(SECRET).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == "report-monthly-2026-10-SQ-YSB"
    assert body == json.loads(request.body)
    for file in body["files"]:
        content = base64.b64decode(file["content_base64"])
        assert content == (Path(report.directory) / file["name"]).read_bytes()
        assert file["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["period"]["label"] == "2026-10"
