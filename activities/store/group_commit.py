"""Group commit: what arrives together is written in one transaction, each caller answered once its item is in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Writes what arrives together in one transaction (a group commit): `write(session, items)` answers one result
    per item, in order, and each caller gets its own.

    The pushes of a transition, and of the transitions a worker runs side by side, are tried at once; each write in
    its own transaction made every one of them wait for the store's single write lock (on SQLite the lock passes
    from one transaction to the next, and at the 17:30 instant every red card's record and push meet there). An
    item that arrives while a write is under way waits for the next one, which takes every item waiting by then; one
    that finds none under way is written at once, alone. `record` returns only once its item is committed: an
    activity never completes on a row the store does not hold. Should a shared write fail, each item is written
    alone, so one bad item fails only its own caller."""

    def __init__(
        self,
        begin: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        write: Callable[[AsyncSession, list[T]], Awaitable[Sequence[R]]],
    ) -> None:
        self._begin = begin
        self._write_items = write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writing = asyncio.Lock()

    async def record(self, item: T) -> R:
        written: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, written))
        async with self._writing:
            if not written.done():  # nobody took it along: write everything waiting now
                batch, self._waiting = self._waiting, []
                try:
                    await self._write(batch)
                except Exception as error:  # a batch of one, its own item: the caller's activity fails
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                except BaseException:  # cancelled while writing: whoever waits next writes what is left
                    self._waiting[:0] = [(item, done) for item, done in batch if not done.done()]
                    raise
        return await written

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            async with self._begin() as session:
                results = await self._write_items(session, [item for item, _ in batch])
        except Exception:
            if len(batch) == 1:
                raise
            for item, done in batch:  # one at a time: each caller gets its own item's outcome
                try:
                    async with self._begin() as session:
                        [result] = await self._write_items(session, [item])
                except Exception as error:
                    done.set_exception(error)
                else:
                    done.set_result(result)
            return
        for (_, done), result in zip(batch, results, strict=True):
            done.set_result(result)


def one_by_one(
    write: Callable[[AsyncSession, T], Awaitable[R]],
) -> Callable[[AsyncSession, list[T]], Awaitable[list[R]]]:
    """A group commit's write that writes each item in turn, in the shared transaction (a unit of work per item)."""

    async def write_all(session: AsyncSession, items: list[T]) -> list[R]:
        return [await write(session, item) for item in items]

    return write_all
