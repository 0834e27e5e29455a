"""Hand-offs reach Prometheus as cases do: their store activity counts commands, cards, escalations, loop times and
the working hours of each step, and the domain metrics endpoint serves them as `kind="handoff"` and
`workflow="handoff"` series, with the open loops read from the store."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from schemas.handoff import HandoffStage
from tests.handoff.conftest import LABOUR_DISPATCH, MARKET_REGULATOR, Rig
from tests.handoff.scenario import acknowledge, act, claim, closed_approval, feedback
from workers.metrics import domain_metrics_endpoint
from workers.settings import Settings
from workflows.handoff.entity import HandoffWorkflow

COUNTED = {
    "loops": ("caseloop_loop_seconds_count", {"kind": "handoff"}),
    "claims": ("caseloop_commands_total", {"workflow": "handoff", "command": "claim"}),
    "acknowledgements": ("caseloop_commands_total", {"workflow": "handoff", "command": "acknowledge"}),
    "yellow_cards": ("caseloop_cards_issued_total", {"department": MARKET_REGULATOR, "colour": "yellow"}),
    "claims_timed": ("caseloop_step_working_hours_count", {"kind": "handoff", "step": "claim"}),
    "feedback_timed": ("caseloop_step_working_hours_count", {"kind": "handoff", "step": "feedback"}),
    "closes_timed": ("caseloop_step_working_hours_count", {"kind": "handoff", "step": "close"}),
}


def _counts() -> dict[str, float]:
    return {key: REGISTRY.get_sample_value(name, labels) or 0.0 for key, (name, labels) in COUNTED.items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _served(store_url: str, tmp_path: Path) -> str:
    settings = Settings(data_dir=tmp_path, metrics_port=_free_port(), bind_host="127.0.0.1")
    with domain_metrics_endpoint(settings, store_url=store_url) as url:
        assert url is not None
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.get(url)).text


def _open_loops(served: str) -> dict[tuple[str, str, str], float]:
    return {
        (sample.labels["stage"], sample.labels["sla_colour"], sample.labels["department"]): sample.value
        for family in text_string_to_metric_families(served)
        for sample in family.samples
        if sample.name == "caseloop_open_handoffs"
    }


async def test_a_late_claimed_loop_shows_its_commands_card_and_loop_time_on_metrics(
    rig: Rig, store_url: str, tmp_path: Path
) -> None:
    before = _counts()
    [started] = (await rig.report(closed_approval(LABOUR_DISPATCH))).handoffs
    handoff = started.handoff_id
    pushed = await rig.until_stage(handoff, HandoffStage.PUSHED)
    await rig.skip_past(pushed.deadlines.claim)
    carded = await rig.until(handoff, lambda view: bool(view.cards))
    # The store's row holds the colour the hand-off publishes (CaseloopSlaColour): its claim is missed.
    assert carded.sla_colour.value == "yellow"
    assert _open_loops(await _served(store_url, tmp_path)) == {("pushed", "yellow", MARKET_REGULATOR): 1}
    handle = rig.handle(handoff)
    await handle.execute_update(HandoffWorkflow.claim, claim(MARKET_REGULATOR))
    await handle.execute_update(HandoffWorkflow.start_acting, act(MARKET_REGULATOR))
    await handle.execute_update(HandoffWorkflow.send_feedback, feedback(MARKET_REGULATOR))
    closed = await handle.execute_update(HandoffWorkflow.acknowledge, acknowledge())
    assert closed.stage is HandoffStage.LOOP_CLOSED
    await handle.result()  # every write is in the store, so every count is made

    after = _counts()
    assert {key: after[key] - before[key] for key in COUNTED} == {
        "loops": 1,
        "claims": 1,
        "acknowledgements": 1,
        "yellow_cards": 1,
        "claims_timed": 1,
        "feedback_timed": 1,
        "closes_timed": 1,
    }
    served = await _served(store_url, tmp_path)
    assert _open_loops(served) == {}
    assert 'caseloop_loop_seconds_count{kind="handoff"}' in served
    assert 'caseloop_commands_total{command="claim",workflow="handoff"}' in served
    assert f'caseloop_cards_issued_total{{colour="yellow",department="{MARKET_REGULATOR}"}}' in served
