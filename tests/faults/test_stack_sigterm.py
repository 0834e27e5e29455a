"""`caseloop up` stopped with SIGTERM while department systems send commands through its door: it leaves no process
behind, and once it is up again every acknowledged command is in its case's timeline and audit trail exactly once;
commands that went unanswered, sent again under the same Idempotency-Key, are applied once too."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from caseloop.direct import CaseClient as Engine
from caseloop.errors import CommandTimeout, Unreachable
from caseloop.sdk import CaseClient
from schemas.case import commands as c
from schemas.case.stages import CaseStage
from tests.faults.world import assert_exactly_once, comment_id, comment_text, new_number, until
from tests.support.department_world import BUSINESS_OFFICE, SUCHENG
from tests.support.embedded_stack import kill_stack, stack_environment, start_stack, stop_stack, wait_ready
from workers.client import connect
from workers.resources import open_resources
from workers.settings import Settings

pytestmark = [pytest.mark.fault, pytest.mark.timeout(180)]

INITIATOR = "SQ-FGW"
MATTER = "SQ-XM-SPSX"  # a project matter of the sample registry that SQ-FGW initiates
CASES = 5
BEFORE_STOP = 20  # comments answered before the SIGTERM
MOST_COMMENTS = 30  # per case: the traffic is bounded even if the stop were slow to come
WITHIN = 10.0


def _key(env: dict[str, str], department: str) -> str:
    """The development key `caseloop up` issued for the department into the data directory."""
    keys = json.loads((Path(env["CASELOOP_DATA_DIR"]) / "credentials.json").read_text())
    return str(keys[department])


def _door(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['CASELOOP_API_PORT']}"


async def test_a_stack_stopped_mid_traffic_keeps_every_acknowledged_command(tmp_path: Path) -> None:
    env = stack_environment(tmp_path / "data")
    first = start_stack(env, tmp_path / "up-1.log")
    sent: dict[str, str] = {}  # Idempotency-Key → case id, for every comment sent
    acknowledged: dict[str, dict[str, c.CommandResult]] = {}  # case id → update id → result
    try:
        wait_ready(first, tmp_path / "up-1.log")
        system = await CaseClient.connect(_door(env), _key(env, INITIATOR), within=WITHIN)
        coordinator = await CaseClient.connect(_door(env), _key(env, BUSINESS_OFFICE), within=WITHIN)
        case_ids = []
        for _ in range(CASES):
            number = new_number("S")
            case = await system.launch(case_number=number, matter_code=MATTER, locality_code=SUCHENG, title=number)
            accepted = await coordinator.case_by_id(case.case_id).accept(actor="coordinator")
            acknowledged[case.case_id] = {accepted.update_id: accepted}
            case_ids.append(case.case_id)

        stopping = asyncio.Event()  # set as the SIGTERM goes out: the systems keep sending until the door is gone
        cut_off: list[str] = []

        async def comment_until_stopped(case_id: str) -> None:
            case = coordinator.case_by_id(case_id)
            for _ in range(MOST_COMMENTS):
                key = comment_id()
                sent[key] = case_id
                try:
                    result = await case.comment(actor="coordinator", text=comment_text(key), command_id=key)
                except (Unreachable, CommandTimeout):
                    if stopping.is_set():
                        cut_off.append(key)  # sent again after the restart
                        return
                    raise
                acknowledged[case_id][result.update_id] = result

        commenting = asyncio.gather(*(comment_until_stopped(case_id) for case_id in case_ids))
        await until(
            lambda: _answered(acknowledged, commenting),
            lambda answered: answered >= BEFORE_STOP,
            within=120,
            what=f"{BEFORE_STOP} comments answered",
        )
        stopping.set()
        code, left = await asyncio.to_thread(stop_stack, first)
        await asyncio.wait_for(commenting, timeout=WITHIN * 3)
        await system.close()
        await coordinator.close()
    finally:
        kill_stack(first)
    assert code == 0, (tmp_path / "up-1.log").read_text()
    assert left == set(), f"processes left running after SIGTERM: {left}"
    assert cut_off, "the SIGTERM fell on commands in flight"

    second = start_stack(env, tmp_path / "up-2.log")
    try:
        wait_ready(second, tmp_path / "up-2.log")
        data = Settings(
            _env_file=None, temporal_target=env["CASELOOP_TEMPORAL_TARGET"], data_dir=Path(env["CASELOOP_DATA_DIR"])
        )  # type: ignore[call-arg]
        engine = Engine(await connect(data), data)
        async with open_resources(data) as resources:
            for case_id in case_ids:
                view = await assert_exactly_once(
                    engine.case_by_id(case_id), resources.sessions, acknowledged[case_id], every_command_answered=False
                )
                assert view.stage is CaseStage.LAUNCHED

            # What the stop cut off, sent again under its Idempotency-Key: answered, and applied once.
            unanswered = {
                key: case_id
                for key, case_id in sent.items()
                if not any(update.endswith(f"/{key}") for update in acknowledged[case_id])
            }
            async with await CaseClient.connect(_door(env), _key(env, BUSINESS_OFFICE), within=WITHIN) as again:
                for key, case_id in unanswered.items():
                    result = await _resend(again, case_id, key)
                    acknowledged[case_id][result.update_id] = result
            for case_id in case_ids:
                await assert_exactly_once(engine.case_by_id(case_id), resources.sessions, acknowledged[case_id])
    finally:
        code, left = await asyncio.to_thread(stop_stack, second)
        kill_stack(second)
    assert code == 0, (tmp_path / "up-2.log").read_text()
    assert left == set(), f"processes left running after SIGTERM: {left}"


async def _resend(client: CaseClient, case_id: str, key: str) -> c.CommandResult:
    """A comment sent again under its key until the door answers it (the restarted worker may still be warming)."""
    give_up = time.monotonic() + 60
    while True:
        try:
            return await client.case_by_id(case_id).comment(actor="coordinator", text=comment_text(key), command_id=key)
        except (Unreachable, CommandTimeout):
            assert time.monotonic() < give_up, f"{key}: no answer after the restart"
            await asyncio.sleep(0.2)


async def _answered(acknowledged: dict[str, dict[str, c.CommandResult]], commenting: asyncio.Future[list[None]]) -> int:
    if commenting.done():
        commenting.result()
    return sum(len(results) - 1 for results in acknowledged.values())  # the accepts are not traffic
