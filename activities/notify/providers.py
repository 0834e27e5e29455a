"""SMS providers behind one small interface: the government SMS platform over HTTP, or a log line.

The logging provider serves the embedded stack and tests of workflows; the settings the worker passes choose
(`sms_provider`).
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

SMS_FAILED = "DeliveryFailed"
SMS_REJECTED = "DeliveryRejected"

# What counts as a phone number wherever text may echo one: a country code set apart (`+86 `, `+86-`, `(+86)`),
# then a run of 7 or more digits (`+8613812345678` too) or a mobile number in groups (`138-1234-5678`,
# `138 1234 5678`). Never begun inside a longer run of digits, so an ID's tail is not taken for a number.
_PHONE_LIKE = re.compile(
    r"(?<!\d)(?P<country>\(\+?\d{1,3}\)[ -]?|\+\d{1,3}[ -])?"
    r"(?P<number>\+?\d{7,}|\d{3}[ -]\d{4}[ -]\d{4}(?!\d))"
)


@dataclass(frozen=True)
class SmsMessage:
    idempotency_key: str
    phones: tuple[str, ...]
    template_id: str
    variables: Mapping[str, str] = field(default_factory=dict)


class SmsSettings(Protocol):
    """The settings that choose and reach the provider (the worker's settings have them)."""

    @property
    def sms_provider(self) -> str: ...

    @property
    def sms_url(self) -> str | None: ...

    @property
    def sms_api_key(self) -> SecretStr | None: ...


class SmsProvider(Protocol):
    name: str

    async def send(self, message: SmsMessage) -> None:
        """Hands the message over; raises ApplicationError DeliveryFailed (retry) or DeliveryRejected (final)."""
        ...


# Variables a log must never show: the status lookup's verification code opens the requester's case to anyone.
UNLOGGED_VARIABLES = frozenset({"verification_code"})


def mask_phone(phone: str) -> str:
    """`13812345678` → `138****5678`: enough to tell two people apart in a log, not enough to call them.

    Separators stay where they are (`138-****-5678`); a number of 7 digits or fewer keeps only its last two.
    """
    text = phone.strip()
    digits = [at for at, char in enumerate(text) if char.isdigit()]
    kept = set(digits[-2:]) if len(digits) <= 7 else set(range(3)) | set(digits[-4:])
    return "".join("*" if char.isdigit() and at not in kept else char for at, char in enumerate(text))


def mask_phones_in(text: str) -> str:
    """Masks every phone number in the text; a country code set apart stays readable (`+86 138 **** 5678`)."""
    return _PHONE_LIKE.sub(lambda match: (match.group("country") or "") + mask_phone(match.group("number")), text)


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
                "variables": {
                    name: "***" if name in UNLOGGED_VARIABLES else value for name, value in message.variables.items()
                },
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


def sms_provider_for(settings: SmsSettings, http: httpx.AsyncClient) -> SmsProvider:
    if settings.sms_provider == HttpSmsProvider.name:
        if settings.sms_url is None:
            raise ValueError("sms_url is required when sms_provider is http")
        return HttpSmsProvider(http, settings.sms_url, settings.sms_api_key)
    return LoggingSmsProvider()
