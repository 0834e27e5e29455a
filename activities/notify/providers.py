"""SMS providers behind one small interface: the government SMS platform over HTTP, or a log line.

The logging provider serves the embedded stack and tests of workflows; the settings choose (`sms_provider`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from pydantic import SecretStr
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gateway import responses
from activities.gateway.signing import IDEMPOTENCY_KEY_HEADER
from workers.settings import Settings, SmsProviderName

SMS_FAILED = "DeliveryFailed"
SMS_REJECTED = "DeliveryRejected"

# Runs of 7 or more digits (optionally after +) are treated as phone numbers wherever text may echo them.
_PHONE_LIKE = re.compile(r"\+?\d{7,}")


@dataclass(frozen=True)
class SmsMessage:
    idempotency_key: str
    phones: tuple[str, ...]
    template_id: str
    variables: Mapping[str, str] = field(default_factory=dict)


class SmsProvider(Protocol):
    name: str

    async def send(self, message: SmsMessage) -> None:
        """Hands the message over; raises ApplicationError DeliveryFailed (retry) or DeliveryRejected (final)."""
        ...


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`: enough to tell two people apart in a log, not enough to call them."""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * max(len(digits) - 2, 0) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_phones_in(text: str) -> str:
    return _PHONE_LIKE.sub(lambda match: mask_phone(match.group()), text)


class LoggingSmsProvider:
    """Sends nothing: logs the message with masked numbers, so a development stack shows what would go out."""

    name = "logging"

    async def send(self, message: SmsMessage) -> None:
        activity.logger.info(
            "sms logged, not sent",
            extra={
                "sms_id": message.idempotency_key,
                "template_id": message.template_id,
                "to": [mask_phone(p) for p in message.phones],
                "variables": dict(message.variables),
            },
        )


class HttpSmsProvider:
    """POSTs `{template_id, phones, variables}` as JSON; the platform de-duplicates by Idempotency-Key."""

    name = "http"

    def __init__(self, http: httpx.AsyncClient, url: str, api_key: SecretStr | None = None) -> None:
        self._http = http
        self._url = url
        self._api_key = api_key

    async def send(self, message: SmsMessage) -> None:
        headers = {IDEMPOTENCY_KEY_HEADER: message.idempotency_key}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        payload = {
            "template_id": message.template_id,
            "phones": list(message.phones),
            "variables": dict(message.variables),
        }
        try:
            response = await self._http.post(self._url, json=payload, headers=headers)
        except (httpx.RequestError, httpx.InvalidURL) as error:
            raise ApplicationError(
                f"sms {message.idempotency_key}: SMS platform unreachable ({type(error).__name__})", type=SMS_FAILED
            ) from error
        status = response.status_code
        if responses.is_delivered(status):
            activity.logger.info(
                "sms sent",
                extra={
                    "sms_id": message.idempotency_key,
                    "template_id": message.template_id,
                    "to": [mask_phone(p) for p in message.phones],
                },
            )
            return
        # The platform may echo the numbers back, and the error lands in Temporal's history: mask them.
        said = mask_phones_in(responses.body_excerpt(response))
        text = f"sms {message.idempotency_key}: SMS platform answered HTTP {status}: {said}"
        if responses.is_retryable(status):
            raise ApplicationError(text, type=SMS_FAILED, next_retry_delay=responses.retry_after(response))
        raise ApplicationError(text, type=SMS_REJECTED, non_retryable=True)


def sms_provider_for(settings: Settings, http: httpx.AsyncClient) -> SmsProvider:
    if settings.sms_provider is SmsProviderName.HTTP:
        if settings.sms_url is None:
            raise ValueError("sms_url is required when sms_provider is http")
        return HttpSmsProvider(http, settings.sms_url, settings.sms_api_key)
    return LoggingSmsProvider()
