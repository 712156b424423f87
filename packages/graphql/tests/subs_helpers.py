"""Helpers shared by the subscription tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from subs_schema import TRACKER, schema

from bareasgi import Application
from bareasgi.testing import TestClient
from bareasgi_graphql import add_graphql
from bareasgi_graphql.engine import GraphQLEngine
from bareasgi_graphql.options import GraphQLOptions
from bareasgi_graphql.websocket import SUBPROTOCOL, GraphQLWebSocketHandler


def ws_app(context: Any = None, **handler_options: Any) -> Application:
    """An application serving `graphql-transport-ws` at /graphql (no plugin involved)."""
    engine = GraphQLEngine(GraphQLOptions(schema=schema, context=context))
    app = Application()
    app.ws_router.add("/graphql", GraphQLWebSocketHandler(engine, **handler_options))
    return app


@contextlib.asynccontextmanager
async def session_for(app: Application, subprotocols: list[str]) -> AsyncIterator[Any]:
    """A WebSocket session to /graphql of `app`, served in-process."""
    async with TestClient(app) as client, client.websocket_connect("/graphql", subprotocols) as s:
        yield s


def sse_app(**options: Any) -> Application:
    """An application with the graphql plugin on the subscription schema, at /graphql."""
    app = Application()
    add_graphql(app, schema, **options)
    return app


class EventReader:
    """Server-sent events from a streamed response, one at a time (comments kept as such)."""

    def __init__(self, response: Any) -> None:
        self._chunks = response.aiter_raw()
        self._buffer = b""
        self.comments = 0

    async def next(self, timeout: float = 10.0) -> tuple[str, Any]:
        """The next event as (event, data parsed as JSON or None for an empty data field)."""
        while True:
            while b"\n\n" in self._buffer:
                block, self._buffer = self._buffer.split(b"\n\n", 1)
                event, data = "message", None
                fields = block.decode().split("\n")
                if all(line.startswith(":") for line in fields):
                    self.comments += 1
                    continue
                for line in fields:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "event":
                        event = value
                    elif name == "data":
                        data = json.loads(value) if value else None
                return event, data
            chunk = await asyncio.wait_for(anext(self._chunks), timeout)
            self._buffer += chunk


def subscribe(identifier: str, query: str, **payload: Any) -> str:
    return json.dumps(
        {"id": identifier, "type": "subscribe", "payload": {"query": query, **payload}}
    )


async def receive_json(session: Any, timeout: float = 10.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await session.receive_text(timeout=timeout))
    return message


async def init(session: Any, payload: Any = None) -> None:
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await session.send_text(json.dumps(message))
    assert await receive_json(session) == {"type": "connection_ack"}


async def settle(tasks_before: int) -> int:
    """The loop's task count once it is back to `tasks_before` (bounded: gives up after 5 s)."""
    for _ in range(500):
        if len(asyncio.all_tasks()) <= tasks_before and not TRACKER.open:
            break
        await asyncio.sleep(0.01)
    return len(asyncio.all_tasks())


__all__ = [
    "SUBPROTOCOL",
    "TestClient",
    "init",
    "receive_json",
    "session_for",
    "settle",
    "subscribe",
    "ws_app",
]


@pytest.fixture(autouse=True)
def fresh_source_counts() -> None:
    """Each test counts its own subscription sources: the shared tracker starts afresh (used
    by the test modules that import it)."""
    TRACKER.reset()
