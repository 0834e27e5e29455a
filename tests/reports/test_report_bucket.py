"""Reports kept in object storage: built into the bucket of the settings (an S3 API server on 127.0.0.1, moto's),
byte for byte as in the reports directory, and sent to recipients as signed links that read the same bytes."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from schemas.report_sending import ReportRecipient
from schemas.reports import ReportKind, ReportPeriod
from services.reports.bucket import BucketTarget, BucketUrlInvalid
from services.reports.sending import send_report
from tests.gateway.receiver import Answer, Receiver
from workers.reporting import report_bucket, report_service
from workers.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
KEYS = {"access_key_id": "caseloop", "secret_access_key": "caseloop-secret"}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["access_key_id"],
        aws_secret_access_key=KEYS["secret_access_key"],
    )


def _settings(tmp_path: Path, endpoint: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        report_bucket_url="s3://city-reports/caseloop",
        report_bucket_endpoint=endpoint,
        report_bucket_access_key_id=KEYS["access_key_id"],
        report_bucket_secret_access_key=KEYS["secret_access_key"],
        report_link_seconds=3600,
    )


def test_a_bucket_url_names_its_bucket_and_prefix() -> None:
    assert BucketTarget.parse("s3://city-reports") == BucketTarget("city-reports", "")
    assert BucketTarget.parse("s3://city-reports/caseloop/monthly/") == BucketTarget("city-reports", "caseloop/monthly")
    with pytest.raises(BucketUrlInvalid, match="write s3://bucket"):
        BucketTarget.parse("https://city-reports/caseloop")


async def test_a_report_is_kept_in_the_bucket_and_sent_as_links_that_read_it(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, s3_endpoint: str
) -> None:
    _s3(s3_endpoint).create_bucket(Bucket="city-reports")
    settings = _settings(tmp_path, s3_endpoint)
    period = ReportPeriod.parse(ReportKind.MONTHLY, "2026-10")

    written = await report_service(settings, sessions).build(period, datetime.now(UTC))

    assert written.stored_at == "s3://city-reports/caseloop/monthly-2026-10"
    stored = _s3(s3_endpoint).list_objects_v2(Bucket="city-reports", Prefix="caseloop/monthly-2026-10/")
    assert sorted(item["Key"].rsplit("/", 1)[1] for item in stored["Contents"]) == sorted(f.name for f in written.files)
    pdf = _s3(s3_endpoint).get_object(Bucket="city-reports", Key="caseloop/monthly-2026-10/report.pdf")
    assert pdf["ContentType"] == "application/pdf"
    assert pdf["Body"].read() == (Path(written.directory) / "report.pdf").read_bytes()

    office = Receiver([Answer(200)])
    recipient = ReportRecipient(name="SQ-YSB", url=office.url, secret_ref="reports-ysb")  # type: ignore[arg-type]
    with office.running():
        async with httpx.AsyncClient(timeout=10) as http:
            [sent] = await send_report(
                http, written, [recipient], {"reports-ysb": SECRET.encode()}.get, report_bucket(settings)
            )
            assert sent.delivered
            body = Webhook(SECRET).verify(office.requests[0].body, office.requests[0].headers)
            for file in body["files"]:
                assert "content_base64" not in file, "a bucket's report travels as links"
                content = (await http.get(file["url"])).content  # no credentials: the link is signed
                assert hashlib.sha256(content).hexdigest() == file["sha256"]
                assert content == (Path(written.directory) / file["name"]).read_bytes()
