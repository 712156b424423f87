"""The application `test_wire.py` serves with a real hypercorn (`wire_app:app`).

What happens inside the server process that the wire cannot show (a body iterator's `finally`
ran, a WebSocket handler saw `receive()` return None, how much of an upload a handler read) is
appended as one line per event to the file named by `BAREASGI_WIRE_EVENTS`; each line starts
with the event's name and the token the test put in the path, so tests sharing this server
never read each other's events. A streamed body may wait for a gate file
(`<events file>.<token>.gate`) that the test creates, so ordering is proved without timing.

Nothing here configures logging for the `bareasgi` logger: the tests read what a user with
the defaults sees. `/log/{token}` writes a sentinel line through a `wire` logger of its own so
that a test can bracket the part of the server's output its requests produced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from bareasgi import (
    Application,
    ASGIApp,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    WebSocket,
    bytes_reader,
    text_writer,
)
from bareasgi.types import Receive, Send

EVENTS: Final = os.environ.get("BAREASGI_WIRE_EVENTS", "")
MAX_BODY_SIZE: Final = 1000
"""The request body limit the tests push against."""
GATE_TIMEOUT: Final = 30.0
ENDLESS_LIMIT: Final = 3000
"""An 'endless' stream still ends after this many chunks (a minute), whatever happens."""
SUPPORTED: Final = frozenset({"chat.v2", "chat.v1"})
"""Subprotocols `/ws/echo` accepts: the first of these the client offers is chosen."""

_SENTINELS: Final = logging.getLogger("wire")
_handler = logging.StreamHandler(sys.stderr)
_handler.setFormatter(logging.Formatter("%(message)s"))
_SENTINELS.addHandler(_handler)
_SENTINELS.setLevel(logging.INFO)
_SENTINELS.propagate = False


def record(event: str, token: str, *details: object) -> None:
    """Append `event token details...` as one line to the events file."""
    if not EVENTS:
        return
    line = " ".join([event, token, *map(str, details)]) + "\n"
    with open(EVENTS, "a", encoding="utf-8") as file:
        file.write(line)


def gate_open(token: str) -> bool:
    """Whether the test has created the gate file for `token`."""
    return Path(f"{EVENTS}.{token}.gate").exists()


def _json(data: Any) -> HttpResponse:
    return 200, [(b"content-type", b"application/json")], json.dumps(data).encode()


TRACKED: Final = ("/upload/", "/endless/")
"""Paths whose ASGI call records `asgi-done` when it returns."""


def track_uploads(inner: ASGIApp) -> ASGIApp:
    """Record when the application's ASGI call for `/upload/{token}` or `/endless/{token}`
    has returned: after that, nothing of the request runs any more."""

    async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if not path.startswith(TRACKED):
            await inner(scope, receive, send)
            return
        try:
            await inner(scope, receive, send)
        finally:
            record("asgi-done", path.rpartition("/")[2])

    return tracked


app = Application(max_body_size=MAX_BODY_SIZE, asgi_wrappers=[track_uploads])


# ---- plain answers ----------------------------------------------------------------------------


@app.on_http_request({"GET"}, "/hello")
async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], text_writer("Hello, World!")


@app.on_http_request({"GET"}, "/log/{token}")
async def log_sentinel(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    _SENTINELS.info("wire-sentinel %s", matches["token"])
    return 204


# ---- streaming --------------------------------------------------------------------------------


@app.on_http_request({"GET"}, "/gated/{token}")
async def gated(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Three chunks, then wait for the test's gate file, then two more."""
    token: str = matches["token"]

    async def body() -> AsyncIterator[bytes]:
        for index in range(3):
            record("produced", token, index)
            yield f"chunk {index}\n".encode()
            await asyncio.sleep(0.01)
        record("waiting", token)
        deadline = time.monotonic() + GATE_TIMEOUT
        while not gate_open(token):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no gate file for {token}")
            await asyncio.sleep(0.01)
        for index in range(3, 5):
            record("produced", token, index)
            yield f"chunk {index}\n".encode()
            await asyncio.sleep(0.01)

    return 200, [(b"content-type", b"text/plain")], body()


@app.on_http_request({"GET"}, "/endless/{token}")
async def endless(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """A chunk every 20 ms until the client goes away (or ENDLESS_LIMIT chunks)."""
    token: str = matches["token"]

    async def body() -> AsyncIterator[bytes]:
        try:
            for index in range(ENDLESS_LIMIT):
                record("produced", token, index)
                yield f"tick {index}\n".encode()
                await asyncio.sleep(0.02)
        finally:
            record("finally", token)

    return 200, [(b"content-type", b"text/plain")], body()


@app.on_http_request({"GET"}, "/fail-mid-stream")
async def fail_mid_stream(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        await asyncio.sleep(0.01)
        raise RuntimeError("the stream broke")

    return 200, [(b"content-type", b"text/plain")], body()


# ---- errors -----------------------------------------------------------------------------------


@app.on_http_request({"GET"}, "/boom")
async def boom(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    raise RuntimeError("a handler secret")


@app.on_http_request({"GET"}, "/bad/status")
async def bad_status(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
    return "200", [], b"a status that is a str"


@app.on_http_request({"GET"}, "/bad/header")
async def bad_header(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
    return 200, [(b"x-evil", b"a\r\nx-injected: yes")], b"header injection"


@app.on_http_request({"GET"}, "/bad/body")
async def bad_body(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
    return 200, [], 42


# ---- request bodies ---------------------------------------------------------------------------


@app.on_http_request({"POST"}, "/upload/{token}")
async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Read the body chunk by chunk, recording how much was read however it ends."""
    token: str = matches["token"]
    total = 0
    try:
        async for chunk in content:
            total += len(chunk)
    finally:
        record("upload", token, total)
    return _json({"received": total})


@app.on_http_request({"POST"}, "/echo-body")
async def echo_body(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"application/octet-stream")], await bytes_reader(content)


# ---- path parameters --------------------------------------------------------------------------


@app.on_http_request({"GET"}, "/files/{name}")
async def one_file(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({"route": "/files/{name}", "name": matches["name"]})


@app.on_http_request({"GET"}, "/files/{a}/{b}")
async def two_files(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({"route": "/files/{a}/{b}", "a": matches["a"], "b": matches["b"]})


@app.on_http_request({"GET"}, "/tree/{rest:path}")
async def tree(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({"rest": matches["rest"]})


@app.on_http_request({"GET"}, "/{a}/{b}/end")
async def two_then_end(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    return _json({"a": matches["a"], "b": matches["b"]})


@app.on_http_request({"GET"}, "/users/{id:int}")
async def user(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({"id": matches["id"]})


@app.on_http_request({"GET"}, "/greet/{name}")
async def greet(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return (
        200,
        [(b"content-type", b"text/plain; charset=utf-8")],
        text_writer(f"Hello, {matches['name']}"),
    )


def _typed(value: object) -> list[Any]:
    shown = value.isoformat() if isinstance(value, datetime) else value
    return [type(value).__name__, shown]


@app.on_http_request({"GET"}, "/typed/{i:int}/{f:float}/{d:datetime}")
async def typed(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({name: _typed(value) for name, value in matches.items()})


@app.on_http_request({"GET"}, "/day/{d:datetime:%Y-%m-%d}")
async def day(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({"d": _typed(matches["d"])})


# ---- WebSockets -------------------------------------------------------------------------------


@app.on_ws_request("/ws/echo/{token}")
async def ws_echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    """Echo until the client goes; 'close-me' makes the server close with 4001."""
    token: str = matches["token"]
    chosen = next((p for p in web_socket.subprotocols if p in SUPPORTED), None)
    await web_socket.accept(subprotocol=chosen, headers=[(b"x-wire", b"accepted")])
    while True:
        message = await web_socket.receive()
        if message is None:
            record("ws-none", token, web_socket.close_code)
            return
        if message == "close-me":
            await web_socket.close(4001, "asked to leave")
            return
        await web_socket.send(message)


@app.on_ws_request("/ws/reject")
async def ws_reject(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.reject(
        401,
        [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")],
        b"who are you?",
    )


@app.on_ws_request("/ws/silent")
async def ws_silent(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    return None


@app.on_ws_request("/ws/boom")
async def ws_boom(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    raise RuntimeError("a WebSocket secret")
