"""A store the worker cannot read: the scrape still answers, with `caseloop_read_model_up 0` and the counters, and
the store's gauges are absent rather than stale or zero."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from workers.metrics import domain_metrics_endpoint
from workers.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_an_unreachable_store_reads_as_down_and_the_counters_are_still_served(tmp_path: Path) -> None:
    nothing_listens = f"postgresql+asyncpg://caseloop@127.0.0.1:{_free_port()}/caseloop"
    settings = Settings(data_dir=tmp_path, metrics_port=_free_port(), bind_host="127.0.0.1")
    with domain_metrics_endpoint(settings, store_url=nothing_listens) as url:
        assert url is not None
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.get(url)
    assert answer.status_code == 200
    names = {
        sample.name: sample.value for family in text_string_to_metric_families(answer.text) for sample in family.samples
    }
    assert names["caseloop_read_model_up"] == 0
    assert "caseloop_open_cases" not in names
    assert "# TYPE caseloop_cases_launched_total counter" in answer.text, "the counters are served"
