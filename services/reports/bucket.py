"""Object storage for reports (any S3-compatible store: AWS, MinIO, Ceph, a cloud's OSS in S3 mode): each report's
files are uploaded under `<prefix>/<kind>-<period>/`, and recipients are sent time-limited links to them.

boto3 is synchronous and heavy: it is imported only when a bucket is configured, and called off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schemas.reports import ReportFile, ReportPeriod


class BucketUrlInvalid(ValueError):
    pass


@dataclass(frozen=True)
class BucketTarget:
    """Where reports go: `s3://bucket/prefix`."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> BucketTarget:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise BucketUrlInvalid(f"{url!r}: write s3://bucket or s3://bucket/prefix")
        return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))

    def folder(self, period: ReportPeriod) -> str:
        name = f"{period.kind.value}-{period.label}"
        return f"{self.prefix}/{name}" if self.prefix else name


class ReportBucket:
    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        link_seconds: int = 7 * 86400,
    ) -> None:
        import boto3  # only a process that stores reports in a bucket pays for it
        from botocore.config import Config

        self.target = BucketTarget.parse(url)
        self._link_seconds = link_seconds
        # Credentials left None: boto3's own chain (AWS_* variables, a profile, the machine's role).
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
        )

    def location(self, period: ReportPeriod) -> str:
        return f"s3://{self.target.bucket}/{self.target.folder(period)}"

    def key_of(self, period: ReportPeriod, name: str) -> str:
        return f"{self.target.folder(period)}/{name}"

    async def upload(self, period: ReportPeriod, directory: Path, files: Sequence[ReportFile]) -> str:
        """Puts each file (again, on a retry: same keys, same bytes) and answers the report's folder."""
        await asyncio.to_thread(self._upload, period, directory, files)
        return self.location(period)

    def _upload(self, period: ReportPeriod, directory: Path, files: Sequence[ReportFile]) -> None:
        for file in files:
            self._client.put_object(
                Bucket=self.target.bucket,
                Key=self.key_of(period, file.name),
                Body=(directory / file.name).read_bytes(),
                ContentType=file.media_type,
            )

    def link(self, period: ReportPeriod, name: str) -> str:
        """A link that reads the file without credentials until it expires (link_seconds)."""
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.target.bucket, "Key": self.key_of(period, name)},
            ExpiresIn=self._link_seconds,
        )
        return url
