"""One wait for what the tests cannot await directly (a worker finishing its task, the store written after the
state changed, visibility catching up): read until the value is as expected, pausing in between.

It is a wait, never a timing assertion: the bound only keeps a broken test from hanging, and it is generous
because a loaded two-core machine may take many seconds to run one workflow task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

PATIENCE = 120.0  # seconds before a wait gives up
PAUSE = 0.025


async def eventually(
    read: Callable[[], Awaitable[T]],
    expected: Callable[[T], bool],
    *,
    what: str | Callable[[T], str] = "the expected value",
    patience: float = PATIENCE,
    pause: float = PAUSE,
) -> T:
    """The first value `read` answers that `expected` accepts; AssertionError naming `what` (and the last value
    read) when none came within `patience` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    value = await read()
    while not expected(value):
        if loop.time() > deadline:
            said = what(value) if callable(what) else f"{what} never came; last read: {value!r}"
            raise AssertionError(said)
        await asyncio.sleep(pause)
        value = await read()
    return value
