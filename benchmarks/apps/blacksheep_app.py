"""BlackSheep: one `Application` (with its own `Router`) per kind, written as its docs show.

Route parameters are typed by the handler's annotations (``id: int``), as BlackSheep does it;
middleware is its cheapest form, ``async def mw(request, handler)``; streaming is a
``StreamedContent`` over an async generator; uploads are read with ``request.stream()``; the
WebSocket echo is a ``router.add_ws`` route looping ``receive_text``/``send_text`` until
``WebSocketDisconnectError``. Lifespan startup runs ``Application.start``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from blacksheep import Application, Request, Response, StreamedContent, json, text
from blacksheep.server.routing import Router
from blacksheep.server.websocket import WebSocket, WebSocketDisconnectError

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

Handler = Callable[[Request], Awaitable[Response]]


async def hello(request: Request) -> Response:
    return text(HELLO_TEXT)


async def params(id: int, slug: str) -> Response:
    return text(PARAMS_FORMAT.format(id=id, slug=slug))


async def echo(request: Request) -> Response:
    data: Any = await request.json()
    return json(data)


def _numbered(i: int) -> Callable[[int], Awaitable[Response]]:
    async def handler(id: int) -> Response:
        return text(ROUTE_FORMAT.format(route=i, id=id))

    return handler


async def pass_through(request: Request, handler: Handler) -> Response:
    """A middleware that does nothing: BlackSheep's cheapest form."""
    return await handler(request)


async def _slices() -> AsyncIterator[bytes]:
    buf = STREAM_BUFFER
    for start in range(0, len(buf), CHUNK_SIZE):
        yield buf[start : start + CHUNK_SIZE]


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM_CHUNKS:
        yield chunk


async def stream(request: Request) -> Response:
    return Response(200, content=StreamedContent(b"application/octet-stream", _chunks))


async def stream_chunked(request: Request) -> Response:
    return Response(200, content=StreamedContent(b"application/octet-stream", _slices))


async def _events() -> AsyncIterator[bytes]:
    for event in EVENTS:
        yield event


async def events(request: Request) -> Response:
    return Response(200, content=StreamedContent(b"text/event-stream", _events))


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnectError:
        pass


async def _big() -> AsyncIterator[bytes]:
    for _ in range(BIG_CHUNKS):
        yield BIG_CHUNK


async def stream_out(request: Request) -> Response:
    return Response(200, content=StreamedContent(b"application/octet-stream", _big))


async def read_in(request: Request) -> Response:
    total = 0
    # The stub declares stream() a coroutine of a Generator; it is an async generator.
    chunks = cast(AsyncIterator[bytes], request.stream())
    async for chunk in chunks:
        total += len(chunk)
    return text(str(total))


def build(kind: AppKind) -> ASGIApp:
    """The BlackSheep app for one app kind."""
    router = Router()
    app = Application(router=router)
    match kind:
        case "hello":
            router.add_get(HELLO_PATH, hello)
        case "params":
            router.add_get("/users/{int:id}/posts/{slug}", params)
        case "json":
            router.add_post(JSON_PATH, echo)
        case "routes":
            for i in range(ROUTE_COUNT):
                router.add_get(f"/route{i}/{{int:id}}", _numbered(i))
        case "middleware":
            router.add_get(HELLO_PATH, hello)
            for _ in range(MIDDLEWARE_COUNT):
                app.middlewares.append(pass_through)
        case "stream":
            router.add_get(STREAM_PATH, stream)
        case "stream_chunked":
            router.add_get(STREAM_CHUNKED_PATH, stream_chunked)
        case "upload":
            router.add_post(UPLOAD_PATH, read_in)
        case "events":
            router.add_get(EVENTS_PATH, events)
        case "ws_echo":
            router.add_ws(WS_PATH, ws_echo)
        case "stream_out":
            router.add_get(BIG_PATH, stream_out)
        case "read_in":
            router.add_post(UPLOAD_PATH, read_in)
    return cast(ASGIApp, app)
