"""The two metric planes: the Temporal SDK's own (Runtime with Prometheus) and caseloop's domain metrics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from prometheus_client import REGISTRY, start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.metrics import KNOWN_CODES
from workers.collectors import ReadModelCollector
from workers.settings import Settings

log = structlog.get_logger(__name__)


def sdk_runtime(settings: Settings) -> Runtime | None:
    """A Runtime that serves the SDK's worker and client metrics, or None to keep the default runtime."""
    if not settings.sdk_metrics_port:
        return None
    bind = f"{settings.bind_host}:{settings.sdk_metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


@contextmanager
def domain_metrics_endpoint(
    settings: Settings, store_url: str | None = None, port: int | None = None
) -> Iterator[str | None]:
    """Serves prometheus-client's registry on the metrics port (`port`, by default the settings' metrics_port; 0:
    none) while the context is open, with the store's gauges (`store_url`, by default the settings' store) and every
    department counter at 0 for each registry code. A port taken raises OSError before anything is registered."""
    port = settings.metrics_port if port is None else port
    if not port:
        yield None
        return
    server, thread = start_http_server(port, addr=settings.bind_host)
    try:
        with _store_gauges(store_url or settings.resolved_store_url):
            yield f"http://{settings.bind_host}:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def _store_gauges(store_url: str) -> Iterator[None]:
    collector = ReadModelCollector(store_url)
    try:
        collector.read()  # the counters start at 0 for every code: a first card is an increase(), not a new series
    except Exception as error:  # a store not migrated yet: the scrape says so with caseloop_read_model_up 0
        log.warning("metrics: registry codes not loaded at start", error=str(error) or type(error).__name__)
    REGISTRY.register(collector)
    try:
        yield
    finally:
        REGISTRY.unregister(collector)
        collector.close()
        KNOWN_CODES.forget()
