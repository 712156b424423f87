"""The floor: hand-written ASGI apps, minimal but correct.

Each reads the path (and method), routes by plain string operations or a dict, and sends the
start message and the body; streaming is several body messages. A wrong path answers 404, a
known path with another method 405. Every app answers the lifespan protocol. The WebSocket
echo accepts, sends back each text message as it comes, and returns on the disconnect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from benchmarks.driver import ASGIApp, Receive, Scope, Send
from benchmarks.scenarios import (
    BIG_CHUNK,
    BIG_CHUNKS,
    BIG_PATH,
    CHUNK_SIZE,
    EVENTS,
    EVENTS_PATH,
    HELLO_PATH,
    HELLO_TEXT,
    JSON_PATH,
    MIDDLEWARE_COUNT,
    PARAMS_FORMAT,
    ROUTE_COUNT,
    ROUTE_FORMAT,
    STREAM_BUFFER,
    STREAM_CHUNKED_PATH,
    STREAM_CHUNKS,
    STREAM_PATH,
    UPLOAD_PATH,
    WS_PATH,
    AppKind,
)

_HELLO: Final = HELLO_TEXT.encode()
_HELLO_LENGTH: Final = str(len(_HELLO)).encode()
_NOT_FOUND: Final = b"Not Found"
_PARAMS_RE: Final = re.compile(r"/users/([0-9]+)/posts/([^/]+)")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _text(send: Send, status: int, body: bytes, content_type: bytes = b"text/plain") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _not_found(send: Send) -> None:
    await _text(send, 404, _NOT_FOUND)


async def _not_allowed(send: Send, allow: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [(b"allow", allow), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["path"] != HELLO_PATH:
            await _not_found(send)
        elif scope["method"] not in ("GET", "HEAD"):
            await _not_allowed(send, b"GET, HEAD")
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"content-length", _HELLO_LENGTH),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _HELLO})
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


async def params(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        match = _PARAMS_RE.fullmatch(scope["path"])
        if match is None:
            await _not_found(send)
        elif scope["method"] not in ("GET", "HEAD"):
            await _not_allowed(send, b"GET, HEAD")
        else:
            text = PARAMS_FORMAT.format(id=int(match[1]), slug=match[2])
            await _text(send, 200, text.encode())
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["path"] != JSON_PATH:
            await _not_found(send)
        elif scope["method"] != "POST":
            await _not_allowed(send, b"POST")
        else:
            try:
                data = json.loads(await _read_body(receive))
            except ValueError:
                await _text(send, 400, b"invalid JSON")
                return
            await _text(send, 200, json.dumps(data).encode(), b"application/json")
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


def _routes() -> ASGIApp:
    # One dict lookup on the first segment, then an int conversion of the second.
    table = {f"route{i}": i for i in range(ROUTE_COUNT)}

    async def routes(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            parts = scope["path"].split("/")
            route = table.get(parts[1]) if len(parts) == 3 else None
            if route is None or not parts[2].isascii() or not parts[2].isdigit():
                await _not_found(send)
            elif scope["method"] not in ("GET", "HEAD"):
                await _not_allowed(send, b"GET, HEAD")
            else:
                text = ROUTE_FORMAT.format(route=route, id=int(parts[2]))
                await _text(send, 200, text.encode())
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    return routes


def _pass_through(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    return middleware


def _middleware() -> ASGIApp:
    app: ASGIApp = hello
    for _ in range(MIDDLEWARE_COUNT):
        app = _pass_through(app)
    return app


async def stream(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["path"] != STREAM_PATH:
            await _not_found(send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        last = len(STREAM_CHUNKS) - 1
        for i, chunk in enumerate(STREAM_CHUNKS):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < last})
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


def _stream_sliced(path: str) -> ASGIApp:
    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"] != path:
                await _not_found(send)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            buf = STREAM_BUFFER
            size = len(buf)
            for start in range(0, size, CHUNK_SIZE):
                end = start + CHUNK_SIZE
                await send(
                    {"type": "http.response.body", "body": buf[start:end], "more_body": end < size}
                )
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    return stream


async def events(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["path"] != EVENTS_PATH:
            await _not_found(send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        last = len(EVENTS) - 1
        for i, event in enumerate(EVENTS):
            await send({"type": "http.response.body", "body": event, "more_body": i < last})
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


async def ws_echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        message: Mapping[str, Any] = await receive()  # websocket.connect
        if scope["path"] != WS_PATH:
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                if text is not None:
                    await send({"type": "websocket.send", "text": text})
                else:
                    await send({"type": "websocket.send", "bytes": message.get("bytes")})
            elif message["type"] == "websocket.disconnect":
                return
    elif scope["type"] == "http":
        await _not_found(send)
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


async def stream_out(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        if scope["path"] != BIG_PATH:
            await _not_found(send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        last = BIG_CHUNKS - 1
        for i in range(BIG_CHUNKS):
            await send({"type": "http.response.body", "body": BIG_CHUNK, "more_body": i < last})
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


def _read_in(path: str) -> ASGIApp:
    async def read_in(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"] != path:
                await _not_found(send)
                return
            total = 0
            while True:
                message: Mapping[str, Any] = await receive()
                if message["type"] == "http.disconnect":
                    return
                total += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            await _text(send, 200, str(total).encode())
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    return read_in


def build(kind: AppKind) -> ASGIApp:
    """The floor app for one app kind."""
    match kind:
        case "hello":
            return hello
        case "params":
            return params
        case "json":
            return echo
        case "routes":
            return _routes()
        case "middleware":
            return _middleware()
        case "stream":
            return stream
        case "stream_chunked":
            return _stream_sliced(STREAM_CHUNKED_PATH)
        case "upload" | "read_in":
            return _read_in(UPLOAD_PATH)
        case "events":
            return events
        case "ws_echo":
            return ws_echo
        case "stream_out":
            return stream_out
