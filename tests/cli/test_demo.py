"""`caseloop demo` against `caseloop up`, as a newcomer runs them: the seed's cases and hand-offs are there to find
through the front door with the development keys, a second run creates nothing, and the README's example runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from caseloop import CaseClient
from schemas.case.stages import CaseStage
from tests.support.department_world import eventually
from tests.support.embedded_stack import kill_stack, stack_environment, start_stack, stop_stack, wait_ready

pytestmark = pytest.mark.slow

EXPECTED = {
    "case-SQ-FGW~XM-2021-0417": "in_progress",  # 恒力 tail-water pipeline
    "case-SQ-FGW~XM-2021-0305": "closed",  # 恒力 land listing, written off
    "case-SQ-FGW~XM-2021-0522": "launched",  # 桐昆 land, the district has not signed
    "case-SQ-FGW~XM-2021-0601": "registered",  # 盛虹 wharf, waiting for the coordinator
}
# The channels' cases, each accepted by the coordinator (docs/intake.md).
CHANNEL_CASES = {
    "case-SQ-12345~12345.GD-2021-0615-001": "launched",  # 12345: a road blocked by works
    "case-SQ-HCP~HCP.HCP-2021-0615-007": "launched",  # 好差評: a bad rating of the construction permit
    "case-SQ-SPJ~BHB.BHB-2021-0615-003": "launched",  # 不好辦: a one-hour window item
    "case-SQ-YFK~YFK.YFK-2021-0615-012": "launched",  # 預付卡: a closed gym
}


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    """The copy-pasteable example of the README's section for department systems."""
    section = README.read_text(encoding="utf-8").split("## Driving caseloop from a department system", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def run_python(env: dict[str, str], source: str) -> str:
    done = subprocess.run([sys.executable, "-c", source], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_demo(env: dict[str, str]) -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "caseloop.cli", "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_the_demo_leaves_the_seed_scenarios_visible_and_runs_again_harmlessly(tmp_path: Path) -> None:
    env = stack_environment(tmp_path / "data")
    log = tmp_path / "up.log"
    stack = start_stack(env, log)
    try:
        wait_ready(stack, log)
        url = f"http://127.0.0.1:{env['CASELOOP_API_PORT']}"
        env["CASELOOP_API_URL"] = url
        first = run_demo(env)
        assert {p["workflow_id"]: p["stage"] for p in first if p["kind"] == "case"} == EXPECTED | CHANNEL_CASES
        handoffs = {p["workflow_id"]: p["stage"] for p in first if p["kind"] == "hand-off"}
        assert sorted(handoffs.values()) == ["acting", "loop_closed", "pushed"]

        keys = json.loads((tmp_path / "data" / "credentials.json").read_text(encoding="utf-8"))
        initiator = await CaseClient.connect(url, keys["SQ-FGW"])
        approval = await CaseClient.connect(url, keys["SQ-SPJ"])
        listed = await eventually(
            lambda: initiator.list(matter=["SQ-XM-SPSX", "SQ-XM-YDBZ"]),
            lambda found: {s.case_id: str(s.stage) for s in found} == EXPECTED,
        )
        assert {s.case_id: str(s.stage) for s in listed} == EXPECTED
        pipeline = await initiator.list(stage=CaseStage.IN_PROGRESS, department="SQ-SPJ", locality="SQ-SCQ")
        assert [s.case_id for s in pipeline] == ["case-SQ-FGW~XM-2021-0417"]
        assert await approval.count_handoffs(receiver="SQ-WJW", matter="SQ-SG-GGCSWS") == 1
        back = await approval.list_handoffs(direction="supervision_to_approval", receiver="SQ-SPJ")
        assert [(s.matter, str(s.stage)) for s in back] == [("SQ-GS-CNBS", "acting")]
        transitions = (await initiator.case("XM-2021-0417").timeline()).total

        async def logged() -> str:
            return log.read_text(errors="replace")

        # The requesters' launch SMS show in the log, their numbers masked.
        text = await eventually(logged, lambda text: all(f"138****02{n:02}" in text for n in range(1, 5)))
        assert "requester_launched" in text and "13800000201" not in text

        again = run_demo(env)
        assert again == first, "the second run finds everything where the first left it"
        assert await initiator.count(matter=["SQ-XM-SPSX", "SQ-XM-YDBZ"]) == len(EXPECTED)
        assert await approval.count_handoffs() == len(handoffs)
        assert (await initiator.case("XM-2021-0417").timeline()).total == transitions
        county = await CaseClient.connect(url, keys["SQ-SIY-RSJ"])
        inbox = await county.read_inbox()
        assert inbox.unacknowledged == 1, "the labour dispatch licence waits in the county bureau's inbox"

        example = readme_example()
        printed = run_python(env, example)
        assert "case-SQ-FGW~XM-2026-0042 awaiting_commitment lead SQ-SPJ" in printed
        assert "rejected by" in printed and "refused" in printed and "commitment_filed" in printed
        assert run_python(env, example).splitlines()[:2] == printed.splitlines()[:2], "the example runs again"
        example_case = await initiator.case("XM-2026-0042").timeline()
        assert [entry.action for entry in example_case.entries].count("commitment_filed") == 1
        for client in (initiator, approval, county):
            await client.close()
    finally:
        code, left = stop_stack(stack) if stack.poll() is None else (stack.returncode, set())
        kill_stack(stack)
    assert code == 0, log.read_text()
    assert left == set()
