"""The deployment files parse, and every caseloop metric they read is one the code exports: a counter or histogram
of the activities, or a gauge the store's collector yields at each scrape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import activities.metrics  # noqa: F401  (registers the domain metrics)
from workers.collectors import described

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
METRIC = re.compile(r"\b(caseloop_[a-z_]+?)(?:_bucket|_count|_sum)?\b")


def _exported() -> set[str]:
    return (
        {metric.name for metric in REGISTRY.collect() if metric.name.startswith("caseloop_")}
        | {f"{metric.name}_total" for metric in REGISTRY.collect() if metric.type == "counter"}
        | {family.name for family in described()}
    )


def _expressions() -> list[str]:
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    for dashboard in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        exprs += [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    return exprs


def test_every_yaml_file_parses() -> None:
    for path in DEPLOY.rglob("*.y*ml"):
        assert list(yaml.safe_load_all(path.read_text())), path


def test_alerts_and_dashboards_read_only_exported_metrics() -> None:
    exported = _exported()
    used = {name for expr in _expressions() for name in METRIC.findall(expr)}
    assert used, "the alert rules and dashboards read caseloop metrics"
    assert used <= exported, f"not exported: {sorted(used - exported)}"
