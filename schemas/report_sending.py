"""Who receives the monthly and quarterly reports, and what sending one answers."""

from __future__ import annotations

from pydantic import BaseModel, Field, HttpUrl

from schemas.reports import ReportFile, ReportPeriod


class ReportRecipient(BaseModel):
    """A system that takes reports as a signed webhook (Standard Webhooks), as departments take pushes."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="a code, e.g. SQ-YSB")
    url: HttpUrl
    secret_ref: str = Field(
        min_length=1, max_length=100, description="the secret's name: CASELOOP_SECRET_<NAME> holds it"
    )


class ReportPackage(BaseModel):
    """The body sent: the period, the headline, and every file with its bytes (base64) and SHA-256."""

    period: ReportPeriod
    files: list[SentFile]


class SentFile(ReportFile):
    """A file sent in the body, or, when reports are kept in object storage, as a link that expires."""

    sha256: str
    content_base64: str | None = None
    url: str | None = None


class ReportSent(BaseModel):
    recipient: str
    status: int | None = Field(description="the recipient's HTTP status; None when it could not be reached")
    delivered: bool
    error: str | None = None
    retryable: bool = Field(False, description="unreachable or 5xx: worth sending again")


class ReportsSent(BaseModel):
    sent: list[ReportSent]


ReportPackage.model_rebuild()
