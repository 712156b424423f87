"""GraphQL subscription events per second, against Ariadne:
``python -m benchmarks.plugins.graphql_subscriptions`` (from the repository root).

One subscription, `subscription { countdown(from: N) }`, whose source yields N+1 integers as
fast as it can (no awaiting between them), driven in-process through the ASGI interface with
a minimal driver (no network, no client library): the figure is the events the app delivers
per second, from the subscribe message (or request) to the `complete`, every event counted
and the last one checked. The same graphql-core 3.3 schema, source and resolver serve both:

- ``ws``: one WebSocket with `graphql-transport-ws` (connection_init, ack, subscribe, then
  every `next` until `complete`). bareASGI: `add_graphql(app, SCHEMA)`; Ariadne:
  `ariadne.asgi.GraphQL(SCHEMA, websocket_handler=GraphQLTransportWSHandler())`.
- ``sse``: one POST with `accept: text/event-stream` (graphql-sse's distinct connections
  mode), every `next` event until `complete`. bareASGI: the same app; Ariadne:
  `GraphQL(SCHEMA, http_handler=GraphQLHTTPSSEHandler())`.

Rounds interleave the apps and rotate their order; the figure is the median of the rounds,
ratios paired (the median over rounds of the ratio within each round).
Target (issue 15): at least Ariadne's events per second, over WebSocket and over SSE.
It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Final

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from bareasgi import Application
from benchmarks.driver import Lifespan

ASGIApp = Callable[..., Any]

PATH: Final = "/graphql"
APPS: Final = ("bareasgi", "ariadne")
TRANSPORTS: Final = ("ws", "sse")


async def _countdown(_root: Any, _info: Any, start: int) -> AsyncIterator[int]:
    for number in range(start, -1, -1):
        yield number


def _identity(value: Any, _info: Any, **_args: Any) -> Any:
    return value


SCHEMA: Final = GraphQLSchema(
    query=GraphQLObjectType(
        "Query", {"hello": GraphQLField(GraphQLString, resolve=lambda *_: "world")}
    ),
    subscription=GraphQLObjectType(
        "Subscription",
        {
            "countdown": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"from": GraphQLArgument(GraphQLNonNull(GraphQLInt), out_name="start")},
                subscribe=_countdown,
                resolve=_identity,
            )
        },
    ),
)


def build_bareasgi() -> ASGIApp:
    from bareasgi_graphql import add_graphql

    app = Application()
    add_graphql(app, SCHEMA, graphiql=False)
    return app


def build_ariadne(transport: str) -> ASGIApp:
    from ariadne.asgi import GraphQL
    from ariadne.asgi.handlers import GraphQLTransportWSHandler
    from ariadne.contrib.sse import GraphQLHTTPSSEHandler

    if transport == "ws":
        return GraphQL(SCHEMA, websocket_handler=GraphQLTransportWSHandler())
    return GraphQL(SCHEMA, http_handler=GraphQLHTTPSSEHandler())


def _query(events: int) -> str:
    return f"subscription {{ countdown(from: {events - 1}) }}"


class _WsState:
    __slots__ = ("count", "last", "started")

    def __init__(self) -> None:
        self.count = 0
        self.last = ""
        self.started = 0.0


async def ws_events(app: ASGIApp, events: int) -> float:
    """Seconds to deliver `events` results over one graphql-transport-ws WebSocket."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    done: asyncio.Future[float] = loop.create_future()
    subscribe = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": _query(events)}})
    state = _WsState()
    inbox.put_nowait({"type": "websocket.connect"})

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            inbox.put_nowait({"type": "websocket.receive", "text": '{"type":"connection_init"}'})
        elif kind == "websocket.send":
            text = message.get("text") or message.get("bytes", b"").decode()
            if '"next"' in text:
                state.count += 1
                state.last = text
            elif '"connection_ack"' in text:
                state.started = time.perf_counter()
                inbox.put_nowait({"type": "websocket.receive", "text": subscribe})
            elif '"complete"' in text:
                if not done.done():
                    done.set_result(time.perf_counter() - state.started)
                inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
            else:
                raise AssertionError(f"unexpected message: {text}")
        elif kind == "websocket.close" and not done.done():
            done.set_exception(AssertionError(f"closed: {message}"))

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"sec-websocket-protocol", b"graphql-transport-ws"),
        ],
        "subprotocols": ["graphql-transport-ws"],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }
    task = asyncio.create_task(app(scope, receive, send))
    elapsed = await asyncio.wait_for(done, 120)
    await asyncio.wait_for(task, 30)
    _check(state.count, events, json.loads(state.last)["payload"])
    return elapsed


async def sse_events(app: ASGIApp, events: int) -> float:
    """Seconds to deliver `events` results over one graphql-sse (distinct connections) POST."""
    loop = asyncio.get_running_loop()
    body = json.dumps({"query": _query(events)}).encode()
    first = True
    never: asyncio.Future[None] = loop.create_future()
    buffer = bytearray()
    ended: asyncio.Future[None] = loop.create_future()

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": body, "more_body": False}
        await never  # no disconnect while the answer streams
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if message["status"] != 200:
                raise AssertionError(f"status {message['status']}")
        elif kind == "http.response.body":
            buffer.extend(message.get("body", b""))
            if not message.get("more_body", False) and not ended.done():
                ended.set_result(None)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"accept", b"text/event-stream"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }
    started = time.perf_counter()
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(ended, 120)
    elapsed = time.perf_counter() - started
    never.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 30)
    text = buffer.decode().replace("\r\n", "\n")  # Ariadne ends its lines with CRLF
    nexts = [block for block in text.split("\n\n") if block.startswith("event: next")]
    if "event: complete" not in text:
        raise AssertionError("no complete event")
    _check(len(nexts), events, json.loads(nexts[-1].split("data: ", 1)[1]))
    return elapsed


def _check(count: int, events: int, last: Any) -> None:
    if count != events:
        raise AssertionError(f"{count} events delivered, {events} expected")
    if last != {"data": {"countdown": 0}}:
        raise AssertionError(f"last event {last!r}")


async def run(rounds: int, events: int) -> dict[tuple[str, str], list[float]]:
    """Events per second by (app, transport), one figure a round, apps interleaved."""
    apps: dict[tuple[str, str], ASGIApp] = {}
    for transport in TRANSPORTS:
        apps["bareasgi", transport] = build_bareasgi()
        apps["ariadne", transport] = build_ariadne(transport)
    lifespans = [Lifespan(app) for app in apps.values()]
    for lifespan in lifespans:
        await lifespan.startup()
    drivers = {"ws": ws_events, "sse": sse_events}
    keys = list(apps)
    for key in keys:  # a warm-up round, not counted
        await drivers[key[1]](apps[key], max(50, events // 10))
    rates: dict[tuple[str, str], list[float]] = {key: [] for key in keys}
    for round_ in range(rounds):
        order = keys[round_ % len(keys) :] + keys[: round_ % len(keys)]
        for key in order:
            gc.collect()
            elapsed = await drivers[key[1]](apps[key], events)
            rates[key].append(events / elapsed)
    for lifespan in lifespans:
        await lifespan.shutdown()
    return rates


def report(rates: dict[tuple[str, str], list[float]], rounds: int, events: int) -> tuple[str, bool]:
    lines = [
        f"GraphQL subscriptions: events per second ({events} events a subscription, median "
        f"of {rounds} interleaved rounds, in-process ASGI)",
        f"{'transport':<10}{'bareasgi':>14}{'ariadne':>14}{'ratio':>9}",
    ]
    missed = False
    targets = []
    for transport in TRANSPORTS:
        ours = rates["bareasgi", transport]
        theirs = rates["ariadne", transport]
        ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
        lines.append(
            f"{transport:<10}{statistics.median(ours):>14,.0f}{statistics.median(theirs):>14,.0f}"
            f"{ratio:>8.2f}x"
        )
        met = ratio >= 1.0
        missed = missed or not met
        targets.append(
            f"  target: {transport} events/s at least Ariadne's: {ratio:.2f}x — "
            f"{'met' if met else 'MISSED'}"
        )
    return "\n".join(lines + targets), missed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugins.graphql_subscriptions")
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds (11)")
    parser.add_argument("--events", type=int, default=5000, help="events a subscription (5000)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 500 events")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds, events = (3, 500) if args.quick else (args.rounds, args.events)
    rates = asyncio.run(run(rounds, events))
    text, missed = report(rates, rounds, events)
    print(text, flush=True)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
