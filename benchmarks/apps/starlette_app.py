"""Starlette: one `Starlette` app per kind, written the way its documentation shows.

Middleware is Starlette's cheapest pass-through form, a pure ASGI class (not
``BaseHTTPMiddleware``, which costs a task group per request); streaming is
``StreamingResponse`` over an async generator; uploads are read with ``request.stream()``; the
WebSocket echo is a ``WebSocketRoute`` iterating ``websocket.iter_text()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp as StarletteASGIApp
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

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


async def hello(request: Request) -> Response:
    return PlainTextResponse(HELLO_TEXT)


async def params(request: Request) -> Response:
    values = request.path_params
    return PlainTextResponse(PARAMS_FORMAT.format(id=values["id"], slug=values["slug"]))


async def echo(request: Request) -> Response:
    return JSONResponse(await request.json())


def _route(i: int) -> Route:
    async def handler(request: Request) -> Response:
        return PlainTextResponse(ROUTE_FORMAT.format(route=i, id=request.path_params["id"]))

    return Route(f"/route{i}/{{id:int}}", handler)


class PassThrough:
    """A pure ASGI middleware that does nothing: Starlette's cheapest form."""

    def __init__(self, app: StarletteASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _slices() -> AsyncIterator[bytes]:
    buf = STREAM_BUFFER
    for start in range(0, len(buf), CHUNK_SIZE):
        yield buf[start : start + CHUNK_SIZE]


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM_CHUNKS:
        yield chunk


async def stream(request: Request) -> Response:
    return StreamingResponse(_chunks(), media_type="application/octet-stream")


async def stream_chunked(request: Request) -> Response:
    return StreamingResponse(_slices(), media_type="application/octet-stream")


async def _events() -> AsyncIterator[bytes]:
    for event in EVENTS:
        yield event


async def events(request: Request) -> Response:
    return StreamingResponse(_events(), media_type="text/event-stream")


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(message)


async def _big() -> AsyncIterator[bytes]:
    for _ in range(BIG_CHUNKS):
        yield BIG_CHUNK


async def stream_out(request: Request) -> Response:
    return StreamingResponse(_big(), media_type="application/octet-stream")


async def read_in(request: Request) -> Response:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return PlainTextResponse(str(total))


def build(kind: AppKind) -> ASGIApp:
    """The Starlette app for one app kind."""
    middleware: list[Middleware] = []
    routes: list[BaseRoute]
    match kind:
        case "hello":
            routes = [Route(HELLO_PATH, hello)]
        case "params":
            routes = [Route("/users/{id:int}/posts/{slug}", params)]
        case "json":
            routes = [Route(JSON_PATH, echo, methods=["POST"])]
        case "routes":
            routes = [_route(i) for i in range(ROUTE_COUNT)]
        case "middleware":
            routes = [Route(HELLO_PATH, hello)]
            middleware = [Middleware(PassThrough) for _ in range(MIDDLEWARE_COUNT)]
        case "stream":
            routes = [Route(STREAM_PATH, stream)]
        case "stream_chunked":
            routes = [Route(STREAM_CHUNKED_PATH, stream_chunked)]
        case "upload":
            routes = [Route(UPLOAD_PATH, read_in, methods=["POST"])]
        case "events":
            routes = [Route(EVENTS_PATH, events)]
        case "ws_echo":
            routes = [WebSocketRoute(WS_PATH, ws_echo)]
        case "stream_out":
            routes = [Route(BIG_PATH, stream_out)]
        case "read_in":
            routes = [Route(UPLOAD_PATH, read_in, methods=["POST"])]
    return cast(ASGIApp, Starlette(routes=routes, middleware=middleware))
