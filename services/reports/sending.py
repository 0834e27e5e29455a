"""Sends a written report to its recipients: one signed webhook each (Standard Webhooks, the gateway's signing),
carrying every file of the report, or a link to it in object storage, with its SHA-256, so a recipient checks
what it received before filing it.

The webhook id is the report's kind, period and recipient: a resend after a retry is the same message, which a
recipient deduplicates as it deduplicates pushes.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from activities.gateway.signing import signed_headers, signing_keys
from activities.gateway.webhook_secrets import SecretResolver
from schemas.report_sending import ReportPackage, ReportRecipient, ReportSent, SentFile
from schemas.reports import ReportWritten
from services.reports.bucket import ReportBucket


def package(written: ReportWritten, bucket: ReportBucket | None = None) -> ReportPackage:
    """Every file with its SHA-256: as a link when the report is kept in `bucket`, else its bytes in the body."""
    directory = Path(written.directory)
    linked = bucket is not None and written.stored_at is not None
    files = []
    for file in written.files:
        content = (directory / file.name).read_bytes()
        files.append(
            SentFile(
                name=file.name,
                media_type=file.media_type,
                bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content_base64=None if linked else base64.b64encode(content).decode("ascii"),
                url=bucket.link(written.period, file.name) if bucket is not None and linked else None,
            )
        )
    return ReportPackage(period=written.period, files=files)


def webhook_id(written: ReportWritten, recipient: ReportRecipient) -> str:
    return f"report-{written.period.kind.value}-{written.period.label}-{recipient.name}"


async def send_report(
    http: httpx.AsyncClient,
    written: ReportWritten,
    recipients: Sequence[ReportRecipient],
    secrets: SecretResolver,
    bucket: ReportBucket | None = None,
) -> list[ReportSent]:
    """Posts the report to each recipient; a recipient without its secret gets nothing (never an unsigned report)."""
    body = package(written, bucket).model_dump_json(exclude_none=True).encode()
    sent = []
    for recipient in recipients:
        secret = secrets(recipient.secret_ref)
        if secret is None:
            sent.append(
                ReportSent(
                    recipient=recipient.name,
                    status=None,
                    delivered=False,
                    error=f"no secret {recipient.secret_ref!r} in this process: the report is never sent unsigned",
                )
            )
            continue
        headers = {
            "Content-Type": "application/json",
            **signed_headers(signing_keys(secret), webhook_id(written, recipient), str(int(time.time())), body),
        }
        try:
            reply = await http.post(str(recipient.url), content=body, headers=headers, follow_redirects=False)
        except httpx.HTTPError as error:
            sent.append(
                ReportSent(
                    recipient=recipient.name, status=None, delivered=False, error=type(error).__name__, retryable=True
                )
            )
            continue
        delivered = 200 <= reply.status_code < 300
        sent.append(
            ReportSent(
                recipient=recipient.name,
                status=reply.status_code,
                delivered=delivered,
                error=None if delivered else f"HTTP {reply.status_code}",
                retryable=reply.status_code >= 500,
            )
        )
    return sent
