"""Temporal unreachable while department systems launch cases through the door, then back: each system sends its
launch again under the same case number until it is answered, and every number holds exactly one case."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from caseloop.errors import CommandTimeout, Unreachable
from caseloop.sdk import CaseClient
from schemas.case.stages import CaseStage
from schemas.case.state import case_id_of
from tests.faults.world import (
    INITIATOR,
    assert_exactly_once,
    new_number,
    running_stack,
    runs_of,
    until,
    whole_timeline,
)
from tests.sdk.world import serving
from tests.support.department_world import SUCHENG
from workers.door.app import build_app
from workers.door.credentials import issue_credential
from workers.door.deps import DoorOptions

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]

NUMBERS = 20
WITHIN = 4.0  # how long a launch waits for an answer before the system sends it again
GIVE_UP = 90.0  # no launch keeps being sent for longer


async def test_launches_while_temporal_is_unreachable_make_one_case_per_number(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        key = (await issue_credential(stack.resources.sessions, stack.settings, INITIATOR, created_by="tests")).api_key
        app = build_app(stack.settings, sessions=stack.resources.sessions, options=DoorOptions(command_seconds=WITHIN))
        async with serving(app) as url, await CaseClient.connect(url, key, within=WITHIN + 2) as system:
            answers: dict[str, list[str]] = {}  # case number → the case id of every answer
            refusals: dict[str, int] = {}  # case number → launches that went unanswered
            first_answer = asyncio.Event()

            async def launch(number: str) -> None:
                give_up = time.monotonic() + GIVE_UP
                while True:
                    try:
                        case = await system.launch(
                            case_number=number, matter_code=stack.matter, locality_code=SUCHENG, title=f"case {number}"
                        )
                    except (Unreachable, CommandTimeout):
                        refusals[number] = refusals.get(number, 0) + 1
                        assert time.monotonic() < give_up, f"{number}: no answer in {GIVE_UP:.0f} s"
                        await asyncio.sleep(0.2)
                        continue
                    answers.setdefault(number, []).append(case.case_id)
                    first_answer.set()
                    return

            # Half the launches under way when the server dies (some may have reached it), half sent after.
            numbers = [new_number() for _ in range(NUMBERS)]
            early, late = numbers[: NUMBERS // 2], numbers[NUMBERS // 2 :]
            launching = [asyncio.create_task(launch(number)) for number in early]
            await asyncio.wait_for(first_answer.wait(), timeout=60)
            stack.server.kill()
            launching += [asyncio.create_task(launch(number)) for number in late]
            # Down until every launch not answered yet has gone unanswered at least once.
            await until(
                lambda: _settled(answers, launching),
                lambda _: all(number in answers or refusals.get(number, 0) >= 1 for number in numbers),
                within=60,
                what="every open launch refused",
            )
            down = [number for number in numbers if number not in answers]
            assert set(late) <= set(down), "the launches sent after the kill met the outage"
            stack.server.start()
            await asyncio.wait_for(asyncio.gather(*launching), timeout=GIVE_UP + 10)

            # Each number once more, now that all is well: the same case, nothing new.
            for number in numbers:
                again = await system.launch(
                    case_number=number, matter_code=stack.matter, locality_code=SUCHENG, title=f"case {number}"
                )
                answers[number].append(again.case_id)

        engine = stack.engine
        for number in numbers:
            case_id = case_id_of(INITIATOR, number)
            assert answers[number] == [case_id, case_id], f"{number}: every answer names its one case"
            assert await runs_of(stack.temporal, case_id) == 1, f"{number}: started once"
            case = engine.case_by_id(case_id)
            await until(case.state, lambda view: view.seq >= 1, within=60, what=f"{case_id} registered")
            view = await assert_exactly_once(case, stack.resources.sessions, {})
            assert view.stage is CaseStage.REGISTERED
            assert [entry.action for entry in await whole_timeline(case)] == ["registered"]
        listed = await until(
            lambda: engine.list(matter=[stack.matter], limit=None),
            lambda found: len(found) >= NUMBERS,
            within=30,
            what="every case listed",
        )
        assert sorted(summary.case_id for summary in listed) == sorted(case_id_of(INITIATOR, n) for n in numbers)
        assert sum(refusals.values()) >= len(down)


async def _settled(answers: dict[str, list[str]], launching: list[asyncio.Task[None]]) -> int:
    for task in launching:
        if task.done():
            task.result()  # a failed launch fails the test here, not after the deadline
    return len(answers)
