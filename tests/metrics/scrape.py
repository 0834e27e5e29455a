"""The worker's domain `/metrics` endpoint scraped over HTTP as Prometheus does, and its samples read back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.embedded_stack import free_ports
from workers.metrics import domain_metrics_endpoint
from workers.settings import Settings

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels]


async def scrape_text(store_url: str, tmp_path: Path) -> str:
    """One scrape of the endpoint a worker on `store_url` serves, on a free port of 127.0.0.1."""
    [port] = free_ports(1)
    settings = Settings(data_dir=tmp_path, metrics_port=port, bind_host="127.0.0.1")
    with domain_metrics_endpoint(settings, store_url=store_url) as url:
        assert url is not None
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.get(url)
    assert answer.status_code == 200, answer.text
    return answer.text


async def scrape(store_url: str, tmp_path: Path) -> dict[Sample, float]:
    """Every sample of one scrape, by name and sorted labels."""
    text = await scrape_text(store_url, tmp_path)
    return {
        series(sample.name, **sample.labels): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def series(name: str, **labels: str) -> Sample:
    return name, tuple(sorted(labels.items()))


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get(series(name, **labels), 0.0)


def family(samples: dict[Sample, float], name: str) -> dict[Labels, float]:
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


@dataclass(frozen=True)
class Growth:
    """Two scrapes, before and after what a test drove: how much a series grew in between."""

    before: dict[Sample, float]
    after: dict[Sample, float]

    def __call__(self, name: str, **labels: str) -> float:
        # A sum grows by a float difference of process-wide totals: equal up to rounding, not bit for bit.
        return value(self.after, name, **labels) - value(self.before, name, **labels)
