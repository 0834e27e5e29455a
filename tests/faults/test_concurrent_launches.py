"""Twenty processes of one department system launch the same case number through the door at the same instant:
one case is registered, and every launcher is answered with its id."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from caseloop.direct import CaseClient as Engine
from schemas.case.state import case_id_of
from tests.door.conftest import INITIATOR, LOCALITY, DoorWorld
from tests.faults.world import assert_exactly_once, clean_environment, new_number, runs_of, until, whole_timeline

pytestmark = [pytest.mark.fault, pytest.mark.timeout(90)]

LAUNCHERS = 20
WITHIN = 60.0  # for each launcher's start, its launch and its exit


async def test_twenty_processes_launching_one_number_get_one_case(door_world: DoorWorld) -> None:
    number = new_number("C")
    fields = {"case_number": number, "matter_code": door_world.matter, "locality_code": LOCALITY, "title": "同一案件"}
    env = clean_environment(CASELOOP_API_URL=door_world.url, CASELOOP_API_KEY=door_world.keys[INITIATOR])
    launchers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.faults.launcher",
            json.dumps(fields),
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(LAUNCHERS)
    ]
    try:
        for launcher in launchers:
            assert launcher.stdout is not None
            ready = await asyncio.wait_for(launcher.stdout.readline(), WITHIN)
            assert ready == b"ready\n", ready + await launcher.stderr.read()  # type: ignore[union-attr]
        for launcher in launchers:
            assert launcher.stdin is not None
            launcher.stdin.write(b"go\n")
        await asyncio.gather(*(launcher.stdin.drain() for launcher in launchers))  # type: ignore[union-attr]
        outputs = await asyncio.wait_for(asyncio.gather(*(launcher.communicate() for launcher in launchers)), WITHIN)
    finally:
        for launcher in launchers:
            if launcher.returncode is None:
                launcher.kill()
                await launcher.wait()

    case_id = case_id_of(INITIATOR, number)
    for launcher, (out, err) in zip(launchers, outputs, strict=True):
        assert launcher.returncode == 0, err.decode(errors="replace")
        assert json.loads(out) == {"case_id": case_id}, "every launcher is answered with the one case"

    temporal = (await Engine.connect(door_world.settings)).temporal
    assert await runs_of(temporal, case_id) == 1, "one workflow was started"
    case = Engine(temporal, door_world.settings).case_by_id(case_id)
    await until(case.state, lambda view: view.seq >= 1, within=60, what=f"{case_id} registered")
    await assert_exactly_once(case, door_world.sessions, {})
    assert [entry.action for entry in await whole_timeline(case)] == ["registered"], "registered once"
