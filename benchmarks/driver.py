"""The in-process ASGI driver: the same server stand-in for every app.

Per request the driver gives the app a fresh scope dict shaped as uvicorn's (ASGI spec version
2.3, a copy of the lifespan state), a ``receive()`` that returns the request body as
``http.request`` message(s), then blocks until the response is complete and only then returns
``http.disconnect`` (as uvicorn does: a driver that reported a disconnect at once would make a
correct framework stop streaming), and a ``send()`` that records message types and body sizes,
never the bodies.

A WebSocket connection is driven the same way: a fresh ``websocket`` scope, a ``receive()``
that gives ``websocket.connect``, then each text message only once the app has accepted and
echoed the previous one (a ``receive()`` called earlier, by a framework's own reader task,
waits), then ``websocket.disconnect`` (code 1000) after the last echo; ``send()`` checks every
echo against what was sent.

Timing: the scopes and exchanges of a batch are built before the clock starts, then one tight
loop awaits the app once per request, in one asyncio event loop, between two
``time.perf_counter_ns()`` readings. The garbage collector stays enabled during a batch (an app
that makes cyclic garbage pays for collecting it, as it would in production); a full collection
runs before each batch, outside the timing. Every answer of a batch is verified afterwards
(status, completeness, body size), so a broken app cannot look fast.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from .scenarios import Request, Scenario

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""What the driver calls. Apps typed against MutableMapping scopes and messages fit."""

MIB: Final = 1024 * 1024
CHECK_TIMEOUT: Final = 60.0
"""Seconds one checked request may take before the app is called hung."""

_BASE_HEADERS: Final = (
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"bareasgi-bench/1"),
    (b"accept", b"*/*"),
)
_WS_HEADERS: Final = (
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"bareasgi-bench/1"),
    (b"connection", b"Upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
)


def make_scope(request: Request, state: Mapping[str, Any]) -> Scope:
    """A fresh HTTP scope, as uvicorn builds one per request."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50123),
        "scheme": "http",
        "method": request.method,
        "root_path": "",
        "path": request.path,
        "raw_path": request.path.encode("ascii"),
        "query_string": b"",
        "headers": [*_BASE_HEADERS, *request.headers],
        "state": dict(state),
    }


def make_ws_scope(request: Request, state: Mapping[str, Any]) -> Scope:
    """A fresh WebSocket scope, as uvicorn builds one per connection."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50123),
        "scheme": "ws",
        "root_path": "",
        "path": request.path,
        "raw_path": request.path.encode("ascii"),
        "query_string": b"",
        "headers": [*_WS_HEADERS, *request.headers],
        "subprotocols": [],
        "state": dict(state),
        "extensions": {"websocket.http.response": {}},
    }


class Exchange:
    """One request's receive/send pair. Records message types and body sizes, not bodies."""

    __slots__ = (
        "_body",
        "_count",
        "_fed",
        "_waiter",
        "complete",
        "problem",
        "scope",
        "size",
        "status",
        "types",
    )

    def __init__(self, scope: Scope, body: bytes, count: int) -> None:
        self.scope = scope
        self._body = body
        self._count = count
        self._fed = 0
        self._waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.size = 0
        self.complete = False
        self.problem: str | None = None
        """Always None here; a WebSocket exchange notes a wrong echo in it."""
        self.types: list[str] = []

    async def receive(self) -> Message:
        fed = self._fed
        if fed < self._count:
            self._fed = fed = fed + 1
            return {"type": "http.request", "body": self._body, "more_body": fed < self._count}
        if not self.complete:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        return {"type": "http.disconnect"}

    async def send(self, message: Mapping[str, Any]) -> None:
        kind: str = message["type"]
        self.types.append(kind)
        if kind == "http.response.body":
            if not self.status or self.complete:
                raise RuntimeError(f"unexpected {kind!r} (started: {self.status}, complete)")
            self.size += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        elif kind == "http.response.start":
            if self.status:
                raise RuntimeError("http.response.start sent twice")
            self.status = message["status"]
        else:
            raise RuntimeError(f"unexpected message {kind!r}")


class RecordingExchange(Exchange):
    """An exchange that also keeps the headers and body: for the correctness check only."""

    __slots__ = ("body", "headers")

    def __init__(self, scope: Scope, body: bytes, count: int) -> None:
        super().__init__(scope, body, count)
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Mapping[str, Any]) -> None:
        await super().send(message)
        if message["type"] == "http.response.start":
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
        else:
            self.body += message.get("body", b"")


class FreshBodyExchange(Exchange):
    """Feeds every body message as a new bytes object, so an app that kept them would show it.

    For the memory cases only: with one reused buffer, an app holding on to every chunk would
    hold 4,096 references to the same 64 KiB and look flat.
    """

    __slots__ = ("_source",)

    def __init__(self, scope: Scope, body: bytes, count: int) -> None:
        super().__init__(scope, body, count)
        self._source = bytearray(body)

    async def receive(self) -> Message:
        message = await super().receive()
        if message["type"] == "http.request" and self._source:
            message["body"] = bytes(self._source)
        return message


class WebSocketExchange:
    """One WebSocket connection: the client's side of an echo conversation.

    ``receive()`` gives ``websocket.connect``; then, once the app has accepted, message *i*
    only after the echo of message *i - 1* was sent (a ``receive()`` called before that waits,
    as a server's would until the client sends); after the last echo, ``websocket.disconnect``
    with code 1000. ``send()`` checks each echo against the message it answers: a wrong or
    unasked-for one is noted in ``problem`` and not counted in ``size``. ``status`` is 101 once
    accepted (or the status of a refusal), ``size`` the characters echoed correctly, and
    ``complete`` true once the disconnect was given after every message was echoed.
    """

    __slots__ = (
        "_accepted",
        "_closed",
        "_connected",
        "_echoed",
        "_gone",
        "_messages",
        "_sent",
        "_waiter",
        "complete",
        "problem",
        "scope",
        "size",
        "status",
        "types",
    )

    def __init__(self, scope: Scope, messages: Sequence[str]) -> None:
        self.scope = scope
        self._messages = messages
        self._connected = False
        self._accepted = False
        self._closed = False
        """The app sent websocket.close (or refused the handshake)."""
        self._gone = False
        """The client's disconnect was given."""
        self._sent = 0
        self._echoed = 0
        self._waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.size = 0
        self.complete = False
        self.problem: str | None = None
        self.types: list[str] = []

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> Message:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        # The client sends the next message only once the last one came back.
        while not (self._closed or self._gone or (self._accepted and self._echoed == self._sent)):
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        sent = self._sent
        if sent < len(self._messages) and not (self._closed or self._gone):
            self._sent = sent + 1
            return {"type": "websocket.receive", "text": self._messages[sent]}
        if not self._gone:
            self._gone = True
            self.complete = not self._closed and self._echoed == len(self._messages)
            self._wake()  # another reader (a framework's pump task) may be waiting
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(self, message: Mapping[str, Any]) -> None:
        kind: str = message["type"]
        self.types.append(kind)
        if kind == "websocket.send":
            if not self._accepted or self._closed:
                raise RuntimeError(f"unexpected {kind!r} (accepted {self._accepted}, closed)")
            if self._gone:
                raise OSError("the client has gone")
            echoed = self._echoed
            text = message.get("text")
            if echoed >= self._sent:
                self.problem = self.problem or f"message {echoed} sent before it was asked"
            else:
                # A wrong answer is still the answer: the client goes on, not counting it.
                if text == self._messages[echoed]:
                    self.size += len(text)
                else:
                    self.problem = self.problem or (
                        f"echo {echoed} wrong: {text!r} (bytes {message.get('bytes')!r}), "
                        f"expected {self._messages[echoed]!r}"
                    )
                self._echoed = echoed + 1
                self._wake()
        elif kind == "websocket.accept":
            if self._accepted or self._closed or not self._connected:
                raise RuntimeError("websocket.accept out of turn")
            self._accepted = True
            self.status = 101
            self._wake()
        elif kind == "websocket.close":
            # A close after the client's disconnect is harmless; a second one is not.
            if self._closed:
                raise RuntimeError("websocket.close sent twice")
            self._closed = True
            if not self._accepted:
                self.status = 403
            self._wake()
        elif kind == "websocket.http.response.start":
            if self._accepted or self._closed:
                raise RuntimeError(f"{kind!r} out of turn")
            self._closed = True
            self.status = message["status"]
            self._wake()
        elif kind != "websocket.http.response.body":
            raise RuntimeError(f"unexpected message {kind!r}")


AnyExchange = Exchange | WebSocketExchange


def exchange_for(
    request: Request, state: Mapping[str, Any], *, record: bool = False
) -> AnyExchange:
    if request.websocket:
        return WebSocketExchange(make_ws_scope(request, state), request.ws_messages)
    cls = RecordingExchange if record else Exchange
    return cls(make_scope(request, state), request.body, request.body_chunks)


# -- lifespan ------------------------------------------------------------------------------------


class Lifespan:
    """Runs an app's lifespan protocol: startup before measuring, shutdown at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.supported = True
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._stopped: asyncio.Future[None] | None = None

    async def startup(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        self._stopped = loop.create_future()
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = asyncio.create_task(self._run(scope))
        await asyncio.wait_for(asyncio.shield(self._started), timeout)

    async def _run(self, scope: Scope) -> None:
        assert self._started is not None
        assert self._stopped is not None
        try:
            await self.app(scope, self._inbox.get, self._send)
        except Exception as exc:
            if not self._started.done():
                # As uvicorn's "auto" mode: an app that raises on lifespan has none.
                self.supported = False
                self._started.set_result(None)
            elif not self._stopped.done():
                self._stopped.set_exception(exc)
        finally:
            if not self._started.done():
                self.supported = False
                self._started.set_result(None)
            if not self._stopped.done():
                self._stopped.set_result(None)

    async def _send(self, message: Mapping[str, Any]) -> None:
        assert self._started is not None
        assert self._stopped is not None
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self._started.set_result(None)
        elif kind == "lifespan.startup.failed":
            self._started.set_exception(
                RuntimeError(f"lifespan startup failed: {message.get('message', '')}")
            )
        elif (
            kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed")
            and not self._stopped.done()
        ):
            self._stopped.set_result(None)

    async def shutdown(self, timeout: float = 10.0) -> None:
        if self._task is None or self._stopped is None:
            return
        if self.supported and not self._task.done():
            self._inbox.put_nowait({"type": "lifespan.shutdown"})
            try:
                await asyncio.wait_for(asyncio.shield(self._stopped), timeout)
            except (TimeoutError, Exception):
                pass
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


# -- checking ------------------------------------------------------------------------------------


def _describe(exchange: RecordingExchange) -> str:
    preview = bytes(exchange.body[:60])
    return f"status {exchange.status}, {exchange.size} bytes {preview!r}"


async def check(app: ASGIApp, scenario: Scenario, state: Mapping[str, Any]) -> list[str]:
    """Problems with the app's answers to a few of the scenario's requests (none: correct)."""
    requests = scenario.requests
    picks = sorted({0, len(requests) // 2, len(requests) - 1})
    problems: list[str] = []
    for index in picks:
        request = requests[index]
        exchange = exchange_for(request, state, record=True)
        where = f"{'WebSocket' if request.websocket else request.method} {request.path}"
        try:
            await asyncio.wait_for(
                app(exchange.scope, exchange.receive, exchange.send), CHECK_TIMEOUT
            )
        except TimeoutError:
            problems.append(f"{where}: no complete answer within {CHECK_TIMEOUT:.0f} s")
            continue
        except Exception as exc:
            problems.append(f"{where}: raised {exc!r}")
            continue
        if isinstance(exchange, WebSocketExchange):
            problems.extend(f"{where}: {p}" for p in _ws_problems(request, exchange))
            continue
        assert isinstance(exchange, RecordingExchange)
        if not exchange.complete:
            problems.append(f"{where}: response not completed ({exchange.types})")
        if exchange.status != request.status:
            problems.append(f"{where}: expected status {request.status}; {_describe(exchange)}")
        if request.size is not None and exchange.size != request.size:
            problems.append(f"{where}: expected {request.size} bytes; {_describe(exchange)}")
        if request.expect_text is not None and bytes(exchange.body) != request.expect_text.encode():
            problems.append(f"{where}: expected {request.expect_text!r}; {_describe(exchange)}")
        if request.expect_body is not None and bytes(exchange.body) != request.expect_body:
            problems.append(f"{where}: not the expected body; {_describe(exchange)}")
        if request.expect_json is not None:
            try:
                same = json.loads(exchange.body) == json.loads(request.expect_json)
            except ValueError:
                same = False
            if not same:
                problems.append(f"{where}: JSON not echoed; {_describe(exchange)}")
        if len(exchange.body) != exchange.size:
            problems.append(f"{where}: driver bookkeeping mismatch")
    return problems


def _ws_problems(request: Request, exchange: WebSocketExchange) -> list[str]:
    """What is wrong with a finished WebSocket conversation (nothing: a correct echo)."""
    problems: list[str] = []
    if exchange.problem is not None:
        problems.append(exchange.problem)
    if exchange.status != request.status:
        problems.append(f"status {exchange.status}, expected {request.status} (accepted)")
    if exchange.size != request.size:
        problems.append(f"{exchange.size} characters echoed, expected {request.size}")
    if not exchange.complete:
        problems.append(f"conversation not completed ({exchange.types[-3:]})")
    return problems


# -- timing --------------------------------------------------------------------------------------


def prepare(
    requests: Sequence[Request], start: int, count: int, state: Mapping[str, Any]
) -> list[AnyExchange]:
    """``count`` fresh exchanges cycling through ``requests`` from ``start``."""
    n = len(requests)
    return [exchange_for(requests[(start + i) % n], state) for i in range(count)]


async def run_batch(app: ASGIApp, batch: Sequence[AnyExchange]) -> tuple[int, int]:
    """Wall-clock and CPU nanoseconds to serve the whole batch, one request after another.

    The wall-clock time is the measurement; the process CPU time beside it tells whether the
    process was descheduled (by other work on the machine) during the batch.
    """
    gc.collect()
    cpu = time.process_time_ns()
    started = time.perf_counter_ns()
    for exchange in batch:
        await app(exchange.scope, exchange.receive, exchange.send)
    elapsed = time.perf_counter_ns() - started
    return elapsed, time.process_time_ns() - cpu


def verify(requests: Sequence[Request], start: int, batch: Sequence[AnyExchange]) -> str | None:
    """The first wrong answer of a timed batch, or None."""
    n = len(requests)
    for i, exchange in enumerate(batch):
        request = requests[(start + i) % n]
        if isinstance(exchange, WebSocketExchange):
            problems = _ws_problems(request, exchange)
            if problems:
                return f"WebSocket {request.path}: {'; '.join(problems)}"
            continue
        if not exchange.complete or exchange.status != request.status:
            return (
                f"{request.method} {request.path}: status {exchange.status}, "
                f"complete {exchange.complete} (expected {request.status})"
            )
        if request.size is not None and exchange.size != request.size:
            return (
                f"{request.method} {request.path}: {exchange.size} bytes, expected {request.size}"
            )
    return None


# -- memory --------------------------------------------------------------------------------------


async def peak_memory(
    app: ASGIApp, request: Request, state: Mapping[str, Any]
) -> tuple[float, Exchange]:
    """Peak traced memory (MiB above the level at the start) while the app serves ``request``."""
    exchange = FreshBodyExchange(make_scope(request, state), request.body, request.body_chunks)
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        await app(exchange.scope, exchange.receive, exchange.send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return (peak - base) / MIB, exchange
