"""Falcon's ASGI app (`falcon.asgi.App`): one resource class per route, as Falcon is written.

Falcon's middleware is a component of hooks rather than a wrapper; its cheapest pass-through
form is a component with one no-op ``process_request``. Streaming sets ``resp.stream`` to an
async generator; uploads are read with ``async for chunk in req.stream``; the WebSocket echo is
a resource's ``on_websocket`` looping ``receive_text``/``send_text`` until
``WebSocketDisconnected``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import falcon
import falcon.asgi

from benchmarks.driver import ASGIApp
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

Req = falcon.asgi.Request
Resp = falcon.asgi.Response


class Hello:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = HELLO_TEXT


class Params:
    async def on_get(self, req: Req, resp: Resp, id: int, slug: str) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = PARAMS_FORMAT.format(id=id, slug=slug)


class Echo:
    async def on_post(self, req: Req, resp: Resp) -> None:
        resp.media = await req.get_media()


class Numbered:
    def __init__(self, route: int) -> None:
        self.route = route

    async def on_get(self, req: Req, resp: Resp, id: int) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = ROUTE_FORMAT.format(route=self.route, id=id)


class PassThrough:
    """A middleware component that does nothing: Falcon's cheapest form."""

    async def process_request(self, req: Req, resp: Resp) -> None:
        return None


async def _slices() -> AsyncIterator[bytes]:
    buf = STREAM_BUFFER
    for start in range(0, len(buf), CHUNK_SIZE):
        yield buf[start : start + CHUNK_SIZE]


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM_CHUNKS:
        yield chunk


async def _big() -> AsyncIterator[bytes]:
    for _ in range(BIG_CHUNKS):
        yield BIG_CHUNK


class Stream:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = "application/octet-stream"
        resp.stream = _chunks()


class StreamChunked:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = "application/octet-stream"
        resp.stream = _slices()


async def _events() -> AsyncIterator[bytes]:
    for event in EVENTS:
        yield event


class Events:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = "text/event-stream"
        resp.stream = _events()


class WsEcho:
    async def on_websocket(self, req: Req, ws: falcon.asgi.WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except falcon.WebSocketDisconnected:
            pass


class StreamOut:
    async def on_get(self, req: Req, resp: Resp) -> None:
        resp.content_type = "application/octet-stream"
        resp.stream = _big()


class ReadIn:
    async def on_post(self, req: Req, resp: Resp) -> None:
        total = 0
        async for chunk in req.stream:
            total += len(chunk)
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = str(total)


def build(kind: AppKind) -> ASGIApp:
    """The Falcon app for one app kind."""
    if kind == "middleware":
        app = falcon.asgi.App(middleware=[PassThrough() for _ in range(MIDDLEWARE_COUNT)])
    else:
        app = falcon.asgi.App()
    match kind:
        case "hello" | "middleware":
            app.add_route(HELLO_PATH, Hello())
        case "params":
            app.add_route("/users/{id:int}/posts/{slug}", Params())
        case "json":
            app.add_route(JSON_PATH, Echo())
        case "routes":
            for i in range(ROUTE_COUNT):
                app.add_route(f"/route{i}/{{id:int}}", Numbered(i))
        case "stream":
            app.add_route(STREAM_PATH, Stream())
        case "stream_chunked":
            app.add_route(STREAM_CHUNKED_PATH, StreamChunked())
        case "upload":
            app.add_route(UPLOAD_PATH, ReadIn())
        case "events":
            app.add_route(EVENTS_PATH, Events())
        case "ws_echo":
            app.add_route(WS_PATH, WsEcho())
        case "stream_out":
            app.add_route(BIG_PATH, StreamOut())
        case "read_in":
            app.add_route(UPLOAD_PATH, ReadIn())
    return cast(ASGIApp, app)
