"""The deploy files' Prometheus rules and Grafana panels, checked by a real Prometheus: promtool's syntax check and
unit tests of every alert, and every panel's and alert's expression queried against a scraped running stack."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.embedded_stack import (
    kill_stack,
    launch_and_accept,
    stack_environment,
    start_stack,
    stop_stack,
    wait_ready,
)
from tests.support.prometheus import PROMTOOL, Prometheus, needs_prometheus, running_prometheus

pytestmark = needs_prometheus

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "caseloop.json"


def _promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *arguments], capture_output=True, text=True, timeout=60, cwd=RULES.parent)


def _panel_expressions() -> dict[str, str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        f"{panel['title']} [{target.get('refId', index)}]": target["expr"]
        for panel in panels
        for index, target in enumerate(panel.get("targets", []))
        if target.get("expr")
    }


def _alert_expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_the_rules_and_the_scrape_config_pass_promtool() -> None:
    checked = _promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = _promtool("check", "config", "--syntax-only", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_has_a_unit_test_and_they_pass() -> None:
    tests = (RULES.parent / "alerts_test.yml").read_text()
    untested = [alert for alert in _alert_expressions() if f"alertname: {alert}" not in tests]
    assert not untested, f"alerts without a promtool unit test: {untested}"
    tested = _promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.fixture
def scraped_stack(tmp_path: Path) -> Iterator[tuple[dict[str, str], Prometheus]]:
    """`caseloop up` with one case through its door, and a Prometheus scraping its three metrics endpoints."""
    env = stack_environment(tmp_path / "data")
    log = tmp_path / "up.log"
    process = start_stack(env, log)
    try:
        wait_ready(process, log)
        jobs = {
            "caseloop": [f"127.0.0.1:{env['CASELOOP_METRICS_PORT']}"],
            "caseloop-sdk": [f"127.0.0.1:{env['CASELOOP_SDK_METRICS_PORT']}"],
            "temporal": [f"127.0.0.1:{env['CASELOOP_SERVER_METRICS_PORT']}"],
        }
        with running_prometheus(tmp_path / "prometheus", jobs, [RULES]) as prometheus:
            yield env, prometheus
        code, left = stop_stack(process)
        assert code == 0 and not left
    finally:
        kill_stack(process)


@pytest.mark.slow
async def test_a_real_prometheus_scrapes_the_stack_and_answers_every_panel_and_alert(
    scraped_stack: tuple[dict[str, str], Prometheus],
) -> None:
    env, prometheus = scraped_stack
    await launch_and_accept(env, "PROM-1")

    for job in ("caseloop", "caseloop-sdk", "temporal"):
        prometheus.wait_for(f'up{{job="{job}"}} == 1')
    # The accept is counted, and a rate needs two scrapes of it.
    prometheus.wait_for('rate(caseloop_commands_total{workflow="case", command="accept"}[5m])')

    # The store's gauges and the pre-initialised counters: the case is open, launched once, and every registry
    # code has its series before anything happens to it.
    prometheus.wait_for("caseloop_read_model_up == 1")
    prometheus.wait_for("sum(caseloop_open_cases) == 1")
    prometheus.wait_for("sum(caseloop_cases_launched_total) == 1")
    assert prometheus.query("count(caseloop_cases_launched_total) > 1"), "a series per registry code, at 0"

    answered = {name: prometheus.query(expression) for name, expression in _panel_expressions().items()}
    assert answered, "the dashboard has no panel expressions"
    commands = next(result for name, result in answered.items() if name.startswith("Commands applied"))
    assert {series["metric"]["command"] for series in commands} >= {"accept"}
    by_stage = next(result for name, result in answered.items() if name.startswith("Open cases by stage"))
    assert sum(float(series["value"][1]) for series in by_stage) == 1, by_stage
    # No hand-off is open, so its colour panel answers nothing; appeals and meetings have a series per code, at 0.
    by_colour = next(result for name, result in answered.items() if name.startswith("Open hand-offs by SLA colour"))
    assert by_colour == [], by_colour
    assert prometheus.query("count(caseloop_cards_revoked_total) > 1"), "a series per registry code, at 0"
    assert prometheus.query("count(caseloop_joint_meetings_total) > 1"), "a series per registry code, at 0"
    assert prometheus.query("count(caseloop_joint_meetings_open == 0) > 1"), "a series per registry code, at 0"

    for expression in _alert_expressions().values():
        prometheus.query(expression)  # each parses and evaluates on real series
    loaded = {rule["name"]: rule for rule in prometheus.rules()}
    assert set(loaded) == set(_alert_expressions())
    assert all(rule["health"] != "err" for rule in loaded.values()), loaded
    assert prometheus.query('ALERTS{alertname="CaseloopWorkerDown"}') == []
