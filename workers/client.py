"""Connects to Temporal with the project's data converter, so every client speaks pydantic."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import Runtime

from schemas import search_attributes
from workers.codec import data_converter
from workers.settings import Settings


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.payload_keyring(), refuse_plaintext=settings.refuse_plaintext_payloads),
        api_key=api_key,
        tls=settings.temporal_tls or api_key is not None,
        runtime=runtime,
    )


# What a failed connection's text means, in a few words; the transport's own text goes to the log, not the reader.
_REASONS = (
    ("connection refused", "nothing listens there"),
    ("dns error", "the host name is not known"),
    ("failed to lookup address", "the host name is not known"),
    ("timed out", "no answer in time"),
    ("deadline exceeded", "no answer in time"),
    ("certificate", "its TLS certificate is not accepted"),
)


def unreachable_reason(error: BaseException) -> str:
    """Why `connect` failed, in plain words for a message."""
    lowered = str(error).lower()
    for fragment, reason in _REASONS:
        if fragment in lowered:
            return reason
    return "no connection could be made"


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Registers the project's search attributes that the namespace lacks; returns the names it added.

    The embedded stack registers them at server start; a cluster gets them from the first worker.
    """
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
        for key in search_attributes.ALL
        if key.name not in listed.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
