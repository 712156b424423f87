"""The application test_serve runs under `python -m bareasgi serve`: handlers that hang, stream,
read slowly or hold a WebSocket, each writing a marker line to $SERVE_MARKERS from its
`finally`, and a shutdown hook that writes one too."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, WebSocket
from bareasgi.types import Message

MARKERS = os.environ.get("SERVE_MARKERS", os.devnull)


def mark(text: str) -> None:
    with open(MARKERS, "a", encoding="utf-8") as file:
        file.write(f"{os.getpid()} {text}\n")


app = Application()


@app.on_shutdown
async def shutdown_hook(scope: Scope, info: Info, message: Message) -> None:
    mark("shutdown-hook")


@app.on_http_request({"GET"}, "/hello")
async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], b"hello"


@app.on_http_request({"GET"}, "/hang")
async def hang(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    mark("hang-started")
    try:
        await asyncio.Event().wait()
    finally:
        mark("hang-finally")
    return 204


@app.on_http_request({"GET"}, "/brief")
async def brief(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Finishes within the grace period, once the shutdown began: the test releases it (a
    file beside the markers) after it sent the signal."""
    mark("brief-started")
    release = Path(MARKERS).with_name("brief-release")
    while not release.exists():
        await asyncio.sleep(0.02)
    mark("brief-done")
    return 200, [(b"content-type", b"text/plain")], b"brief"


@app.on_http_request({"GET"}, "/stream")
async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        mark("stream-started")
        try:
            while True:
                yield b"tick\n"
                await asyncio.sleep(0.05)
        finally:
            mark("stream-finally")

    return 200, [(b"content-type", b"text/plain")], body()


@app.on_http_request({"POST"}, "/upload")
async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    mark("upload-started")
    size = 0
    try:
        async for chunk in content:
            size += len(chunk)
    finally:
        mark("upload-finally")
    return 200, [(b"content-type", b"text/plain")], str(size).encode()


@app.on_ws_request("/ws")
async def echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    mark("ws-started")
    try:
        while (message := await web_socket.receive()) is not None:
            await web_socket.send(message)
    finally:
        mark("ws-finally")


@app.on_http_request({"GET"}, "/flood")
async def flood(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Sends without end: a client that reads nothing soon leaves the server unable to send."""

    async def body() -> AsyncIterator[bytes]:
        mark("flood-started")
        chunk = b"x" * 65536
        try:
            while True:
                yield chunk
        finally:
            mark("flood-finally")

    return 200, [(b"content-type", b"application/octet-stream")], body()
