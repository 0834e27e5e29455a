"""Cases driven through the production worker on the time-skipping server, then `/metrics` scraped over HTTP:
launches, closes on time, redos, reopenings and the step histograms count what the cases did, and the store's
gauges show the cases still open."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.worker import Worker

from schemas.case import commands as c
from schemas.case.stages import ReviewVerdict
from tests.case import scenarios
from tests.case.driver import Driver, coordinator, requester
from tests.case.parties import LEAD, LOCALITY
from workers.metrics import domain_metrics_endpoint
from workers.resources import Resources
from workers.settings import Settings
from workflows.case.workflow import CaseWorkflow

Labels = tuple[tuple[str, str], ...]
COUNTED = {
    "launched": ("caseloop_cases_launched_total", {"department": LEAD}),
    "closed_on_time": ("caseloop_cases_closed_total", {"department": LEAD, "timeliness": "on_time"}),
    "closed_late": ("caseloop_cases_closed_total", {"department": LEAD, "timeliness": "late"}),
    "redone": ("caseloop_cases_redone_total", {"department": LEAD}),
    "reopened": ("caseloop_cases_reopened_total", {"department": LEAD}),
    "signed": ("caseloop_step_working_hours_count", {"kind": "case", "step": "sign"}),
    "committed": ("caseloop_step_working_hours_count", {"kind": "case", "step": "commit"}),
    "closes_timed": ("caseloop_step_working_hours_count", {"kind": "case", "step": "close"}),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _scrape(resources: Resources, tmp_path: Path) -> dict[str, dict[Labels, float]]:
    settings = Settings(data_dir=tmp_path, metrics_port=_free_port(), bind_host="127.0.0.1")
    with domain_metrics_endpoint(settings, store_url=resources.settings.resolved_store_url) as url:
        assert url is not None
        async with httpx.AsyncClient(timeout=30) as http:
            text = (await http.get(url)).text
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def _counts(samples: dict[str, dict[Labels, float]]) -> dict[str, float]:
    return {
        key: samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0) for key, (name, labels) in COUNTED.items()
    }


async def test_cases_driven_through_the_worker_read_back_from_metrics(
    case_worker: Worker, driver: Driver, resources: Resources, tmp_path: Path
) -> None:
    before = _counts(await _scrape(resources, tmp_path))
    base = driver.registration().case_number

    closed = await scenarios.in_progress(driver, case_number=f"{base}-A")
    await scenarios.close(closed)
    redone = await scenarios.in_progress(driver, case_number=f"{base}-B")
    await scenarios.submit_for_review(redone)
    await redone.execute_update(
        CaseWorkflow.review,
        c.ReviewClosingReport(actor=coordinator, verdict=ReviewVerdict.REDO, reason="no evidence of the permit"),
    )
    await scenarios.close(redone)
    reopened = await scenarios.in_progress(driver, case_number=f"{base}-C")
    await scenarios.close(reopened)
    await reopened.execute_update(CaseWorkflow.reopen, c.ReopenCase(actor=requester, reason="the leak is back"))
    await scenarios.in_progress(driver, case_number=f"{base}-D")
    await driver.settle()  # every store write made, so every count

    after = await _scrape(resources, tmp_path)
    assert {key: value - before[key] for key, value in _counts(after).items()} == {
        "launched": 4,
        "closed_on_time": 3,
        "closed_late": 0,
        "redone": 1,
        "reopened": 1,
        "signed": 4,
        "committed": 4,
        "closes_timed": 3,
    }
    open_cases = after["caseloop_open_cases"]
    assert sum(open_cases.values()) == 2  # the reopened case and the one left in progress
    assert {(dict(labels)["stage"], dict(labels)["department"], dict(labels)["locality"]) for labels in open_cases} == {
        ("in_progress", LEAD, LOCALITY)
    }
    assert after["caseloop_read_model_up"] == {(): 1.0}
