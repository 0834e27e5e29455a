"""The two metric planes: the Temporal SDK's own (Runtime with Prometheus) and caseloop's domain metrics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.settings import Settings


def sdk_runtime(settings: Settings) -> Runtime | None:
    """A Runtime that serves the SDK's worker and client metrics, or None to keep the default runtime."""
    if not settings.sdk_metrics_port:
        return None
    bind = f"{settings.bind_host}:{settings.sdk_metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


@contextmanager
def domain_metrics_endpoint(settings: Settings) -> Iterator[str | None]:
    """Serves prometheus-client's registry on the metrics port while the context is open."""
    if not settings.metrics_port:
        yield None
        return
    server, thread = start_http_server(settings.metrics_port, addr=settings.bind_host)
    try:
        yield f"http://{settings.bind_host}:{settings.metrics_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
