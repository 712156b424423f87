"""The schema the subscription tests share: a countdown, a source that never yields, a
failing source, and a tracker of every source's `finally`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)


class Tracker:
    """Counts the sources started and the sources whose `finally` ran."""

    def __init__(self) -> None:
        self.started = 0
        self.closed = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def open(self) -> int:
        return self.started - self.closed

    def reset(self) -> None:
        """Start counting afresh (before each test: no test depends on another's sources)."""
        self.started = self.closed = 0
        self._waiters = []

    def _bump(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _changed(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    async def wait_all_closed(self) -> None:
        while self.open:
            await self._changed()

    async def wait_open(self, count: int) -> None:
        while self.open < count:
            await self._changed()


TRACKER = Tracker()


async def _countdown(_root: Any, _info: Any, start: int, delay: float = 0.0) -> AsyncIterator[int]:
    TRACKER.started += 1
    TRACKER._bump()
    try:
        for number in range(start, -1, -1):
            yield number
            if delay:
                await asyncio.sleep(delay)
    finally:
        TRACKER.closed += 1
        TRACKER._bump()


async def _forever(_root: Any, _info: Any) -> AsyncIterator[int]:
    TRACKER.started += 1
    TRACKER._bump()
    try:
        await asyncio.Event().wait()  # never set: blocked until cancelled
        yield 0
    finally:
        TRACKER.closed += 1
        TRACKER._bump()


async def _spinning(_root: Any, _info: Any) -> AsyncIterator[int]:
    """Endless, and never awaits: only the consumer can give the loop a turn."""
    TRACKER.started += 1
    TRACKER._bump()
    try:
        number = 0
        while True:
            number += 1
            yield number
    finally:
        TRACKER.closed += 1
        TRACKER._bump()


async def _failing(_root: Any, _info: Any) -> AsyncIterator[int]:
    TRACKER.started += 1
    TRACKER._bump()
    try:
        yield 1
        raise RuntimeError("the source broke: secret detail")
    finally:
        TRACKER.closed += 1
        TRACKER._bump()


def _app_tasks() -> int:
    """Tasks running the app or made by it, other than the one asking (an ASGI server's
    task per request runs a coroutine named `_handle` in hypercorn)."""
    current = asyncio.current_task()
    count = 0
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        code = getattr(coro, "cr_code", None)
        if task is current or code is None:
            continue
        if code.co_name == "_handle" or "bareasgi" in code.co_filename:
            count += 1
    return count


def _identity(value: Any, _info: Any, **_args: Any) -> Any:
    return value


def _refusing_subscribe(_root: Any, _info: Any) -> AsyncIterator[int]:
    raise RuntimeError("no stream for you: secret detail")


schema = GraphQLSchema(
    query=GraphQLObjectType(
        "Query",
        {
            "hello": GraphQLField(GraphQLString, resolve=lambda *_: "world"),
            "pid": GraphQLField(GraphQLInt, resolve=lambda *_: os.getpid()),
            "openSources": GraphQLField(GraphQLInt, resolve=lambda *_: TRACKER.open),
            "appTasks": GraphQLField(GraphQLInt, resolve=lambda *_: _app_tasks()),
            "slow": GraphQLField(
                GraphQLString,
                args={"seconds": GraphQLArgument(GraphQLNonNull(GraphQLFloat))},
                resolve=lambda _root, _info, seconds: _slow(seconds),
            ),
        },
    ),
    mutation=GraphQLObjectType(
        "Mutation", {"bump": GraphQLField(GraphQLInt, resolve=lambda *_: 1)}
    ),
    subscription=GraphQLObjectType(
        "Subscription",
        {
            "countdown": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={
                    "from": GraphQLArgument(GraphQLNonNull(GraphQLInt), out_name="start"),
                    "delay": GraphQLArgument(GraphQLFloat, default_value=0.0),
                },
                subscribe=_countdown,
                resolve=_identity,
            ),
            "forever": GraphQLField(GraphQLInt, subscribe=_forever, resolve=_identity),
            "spinning": GraphQLField(GraphQLInt, subscribe=_spinning, resolve=_identity),
            "failing": GraphQLField(GraphQLInt, subscribe=_failing, resolve=_identity),
            "refused": GraphQLField(GraphQLInt, subscribe=_refusing_subscribe, resolve=_identity),
        },
    ),
)


async def _slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"
