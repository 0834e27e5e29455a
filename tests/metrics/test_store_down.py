"""A store the worker cannot read: the scrape still answers, with `caseloop_read_model_up 0` and the counters, and
the store's gauges are absent rather than stale or zero."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.scrape import scrape_text
from tests.support.embedded_stack import free_ports


async def test_an_unreachable_store_reads_as_down_and_the_counters_are_still_served(tmp_path: Path) -> None:
    [port] = free_ports(1)
    text = await scrape_text(f"postgresql+asyncpg://caseloop@127.0.0.1:{port}/caseloop", tmp_path)
    names = {sample.name: sample.value for family in text_string_to_metric_families(text) for sample in family.samples}
    assert names["caseloop_read_model_up"] == 0
    assert "caseloop_open_cases" not in names
    assert "# TYPE caseloop_cases_launched_total counter" in text, "the counters are served"
