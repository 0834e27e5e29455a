"""One department system launching one case through the door, in a process of its own: it connects (the door's URL
and the system's key in CASELOOP_API_URL and CASELOOP_API_KEY), prints `ready`, launches the case given as JSON
when a line arrives on stdin, and prints the case id the door answered."""

from __future__ import annotations

import asyncio
import json
import sys

from caseloop.sdk import CaseClient


async def launch(fields: dict[str, str]) -> str:
    async with await CaseClient.connect(within=60) as client:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # every launcher is ready: go at once
        case = await client.launch(**fields)  # type: ignore[arg-type]
        return case.case_id


if __name__ == "__main__":
    print(json.dumps({"case_id": asyncio.run(launch(json.loads(sys.argv[1])))}), flush=True)
