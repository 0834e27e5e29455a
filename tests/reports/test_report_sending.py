"""Sending a written report: one signed webhook per recipient, to a real HTTP server on 127.0.0.1, verified with the
official Standard Webhooks library; every file arrives whole with its SHA-256; no secret, nothing sent."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.reports import ReportActivities
from schemas.report_sending import ReportRecipient
from schemas.reports import (
    REPORT_WORKFLOW,
    ReportFile,
    ReportKind,
    ReportPeriod,
    ReportRun,
    ReportWritten,
    ScoreWeights,
)
from services.reports.sending import send_report
from services.reports.service import ReportService
from tests.gateway.receiver import Answer, Receiver
from workers.settings import Settings
from workflows.reports import ReportWorkflow

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


async def test_the_report_workflow_sends_what_it_built_retrying_a_recipient_that_was_down(
    ts_env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    office = Receiver([Answer(503), Answer(200)])
    recipients = [ReportRecipient(name="SQ-YSB", url=office.url, secret_ref="reports-ysb")]  # type: ignore[arg-type]
    client, task_queue = ts_env.client, f"tq-{uuid.uuid4()}"
    before = {result: _deliveries("SQ-YSB", result) for result in ("delivered", "failed")}
    async with httpx.AsyncClient(timeout=10) as http:
        activities = ReportActivities(
            ReportService(sessions, tmp_path / "reports", ScoreWeights(), 5),
            http,
            recipients,
            {"reports-ysb": SECRET.encode()}.get,
        )
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[ReportWorkflow],
            activities=[activities.build_report, activities.send],
        )
        with office.running():
            async with worker:
                report = await client.execute_workflow(
                    REPORT_WORKFLOW,
                    ReportRun(kind=ReportKind.MONTHLY, period="2026-10"),
                    id=f"report-{uuid.uuid4()}",
                    task_queue=task_queue,
                    result_type=ReportWritten,
                )

    assert [request.status for request in office.requests] == [503, 200]
    assert {result: _deliveries("SQ-YSB", result) - count for result, count in before.items()} == {
        "delivered": 1,
        "failed": 1,
    }
    assert {request.headers["webhook-id"] for request in office.requests} == {"report-monthly-2026-10-SQ-YSB"}
    body = Webhook(SECRET).verify(office.requests[-1].body, office.requests[-1].headers)
    assert {file["name"] for file in body["files"]} == {file.name for file in report.files}


def _settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_recipients_are_named_once_and_reached_over_https_in_production() -> None:
    plain = {"name": "SQ-YSB", "url": "http://reports.example.org/in", "secret_ref": "reports-ysb"}
    assert [r.name for r in _settings(report_recipients=[plain]).report_recipients] == ["SQ-YSB"]
    with pytest.raises(ValidationError, match="each recipient needs a name of its own"):
        _settings(report_recipients=[plain, plain | {"url": "http://other.example.org/in"}])
    production = {
        "environment": "production",
        "store_url": "postgresql+asyncpg://caseloop@db/caseloop",
        "log_format": "json",
        "api_key_peppers": "p0:" + base64.b64encode(b"p" * 32).decode(),
        "encryption_key": base64.b64encode(b"e" * 32).decode(),
        "temporal_tls": True,
        "sms_provider": "http",
        "sms_url": "https://sms.example.org/send",
    }
    with pytest.raises(ValidationError, match="report_recipients must be https URLs in production: SQ-YSB"):
        _settings(**production, report_recipients=[plain])
    secure = plain | {"url": "https://reports.example.org/in"}
    assert _settings(**production, report_recipients=[secure]).report_recipients[0].url.scheme == "https"


def _deliveries(recipient: str, result: str) -> float:
    labels = {"recipient": recipient, "result": result}
    return REGISTRY.get_sample_value("caseloop_report_deliveries_total", labels) or 0.0
