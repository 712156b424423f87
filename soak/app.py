"""The soak's application: the demo (every plugin enabled) plus routes that misbehave on
purpose, a second static mount with a large file, and a debug route that counts the process's
asyncio tasks. These routes exist only here, never in the demo.

Environment: `SOAK_FILES` (a folder served at /soak-files), `SOAK_MARKERS` (a file the
shutdown hook writes a line to).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from demo import app

from bareasgi import Content, HttpResponse, Info, Matches, Scope, WebSocket
from bareasgi.types import Message
from bareasgi_static import add_static_files

COUNTS: Counter[str] = Counter()
"""What the misbehaving routes did: `<route>-started` and `<route>-finally` each time."""

if os.environ.get("SOAK_FILES"):
    add_static_files(app, os.environ["SOAK_FILES"], "/soak-files")

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


def mark(text: str) -> None:
    with open(os.environ.get("SOAK_MARKERS", os.devnull), "a", encoding="utf-8") as file:
        file.write(f"{os.getpid()} {text}\n")


@app.on_shutdown
async def soak_shutdown(scope: Scope, info: Info, message: Message) -> None:
    mark("shutdown-hook")


@app.on_http_request({"GET"}, "/soak/tasks")
async def tasks(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Debug only: the number of asyncio tasks and the counters."""
    body = json.dumps({"tasks": len(asyncio.all_tasks()), "counts": dict(COUNTS)})
    return 200, [(b"content-type", b"application/json")], body.encode()


@app.on_http_request({"GET"}, "/soak/raise")
async def raising(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    raise RuntimeError("a handler fault, on purpose")


@app.on_http_request({"GET"}, "/soak/garbage")
async def garbage(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [("Content-Type", "text/plain")], b"not a response"  # type: ignore[return-value]


async def hang(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    name = scope["path"].rsplit("/", 1)[-1]
    COUNTS[f"{name}-started"] += 1
    try:
        await asyncio.Event().wait()
    finally:
        COUNTS[f"{name}-finally"] += 1
    return 204


app.http_router.add({"GET"}, "/soak/hang", hang)
app.http_router.add({"GET"}, "/soak/hang-limited", hang, timeout=1.0)
app.http_router.add({"GET"}, "/soak/hang-cancelled", hang, cancel_on_disconnect=True)


@app.on_http_request({"GET"}, "/soak/stream")
async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """A body that awaits between chunks, without end."""

    async def body() -> AsyncIterator[bytes]:
        COUNTS["stream-started"] += 1
        try:
            while True:
                yield b"x" * 1024
                await asyncio.sleep(0.01)
        finally:
            COUNTS["stream-finally"] += 1

    return 200, TEXT, body()


@app.on_http_request({"GET"}, "/soak/flood")
async def flood(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """A body that never awaits, without end."""

    async def body() -> AsyncIterator[bytes]:
        COUNTS["flood-started"] += 1
        chunk = b"x" * 65536
        try:
            while True:
                yield chunk
        finally:
            COUNTS["flood-finally"] += 1

    return 200, [(b"content-type", b"application/octet-stream")], body()


@app.on_http_request({"POST"}, "/soak/upload", max_body_size=1 << 30)
async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    COUNTS["upload-started"] += 1
    size = 0
    try:
        async for chunk in content:
            size += len(chunk)
    finally:
        COUNTS["upload-finally"] += 1
    return 200, TEXT, str(size).encode()


@app.on_ws_request("/soak/ws")
async def ws(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    COUNTS["ws-started"] += 1
    try:
        while (message := await web_socket.receive()) is not None:
            await web_socket.send(message)
    finally:
        COUNTS["ws-finally"] += 1


__all__ = ["COUNTS", "app"]
