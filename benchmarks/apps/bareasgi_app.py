"""bareASGI: handlers as the article writes them, with the writers and readers of the core.

``return 200, [(b'content-type', b'text/plain')], text_writer('Hello, World!')``; five tuple
middlewares that only call the next handler; streaming as ``(200, headers, gen())`` with ``gen``
an async generator (``stream``, ``events``), and with ``bytes_writer(buf, chunk_size=65536)``
(``stream_chunked``); uploads read with ``async for chunk in content``; the WebSocket echo with
``@app.on_ws_request`` and ``web_socket.accept/receive/send``; the 256 MiB cases with an async
generator yielding one reused buffer and a handler iterating ``content`` without keeping it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from bareasgi import Application, WebSocket, bytes_writer, text_reader, text_writer
from bareasgi.types import Content, HttpHandler, HttpResponse, Info, Matches, Scope
from benchmarks.driver import ASGIApp
from benchmarks.scenarios import (
    BIG_CHUNK,
    BIG_CHUNKS,
    BIG_PATH,
    BIG_SIZE,
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


async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], text_writer(HELLO_TEXT)


async def params(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    text = PARAMS_FORMAT.format(id=matches["id"], slug=matches["slug"])
    return 200, [(b"content-type", b"text/plain")], text_writer(text)


async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    data = json.loads(await text_reader(content))
    return 200, [(b"content-type", b"application/json")], text_writer(json.dumps(data))


def _numbered(i: int) -> HttpHandler:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        text = ROUTE_FORMAT.format(route=i, id=matches["id"])
        return 200, [(b"content-type", b"text/plain")], text_writer(text)

    return handler


async def pass_through(
    scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
) -> HttpResponse:
    return await handler(scope, info, matches, content)


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM_CHUNKS:
        yield chunk


async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"application/octet-stream")], _chunks()


async def stream_chunked(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    headers = [(b"content-type", b"application/octet-stream")]
    return 200, headers, bytes_writer(STREAM_BUFFER, chunk_size=CHUNK_SIZE)


async def _events() -> AsyncIterator[bytes]:
    for event in EVENTS:
        yield event


async def events(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/event-stream")], _events()


async def ws_echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    while (message := await web_socket.receive()) is not None:
        await web_socket.send(message)


async def _big() -> AsyncIterator[bytes]:
    for _ in range(BIG_CHUNKS):
        yield BIG_CHUNK


async def stream_out(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"application/octet-stream")], _big()


async def read_in(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    total = 0
    async for chunk in content:
        total += len(chunk)
    return 200, [(b"content-type", b"text/plain")], text_writer(str(total))


def build(kind: AppKind) -> ASGIApp:
    """The bareASGI app for one app kind."""
    if kind == "middleware":
        app = Application(middlewares=[pass_through] * MIDDLEWARE_COUNT)
    elif kind == "read_in":
        # The default request-body limit answers 413 long before 256 MiB.
        app = Application(max_body_size=2 * BIG_SIZE)
    else:
        app = Application()
    router = app.http_router
    match kind:
        case "hello" | "middleware":
            router.add({"GET"}, HELLO_PATH, hello)
        case "params":
            router.add({"GET"}, "/users/{id:int}/posts/{slug}", params)
        case "json":
            router.add({"POST"}, JSON_PATH, echo)
        case "routes":
            for i in range(ROUTE_COUNT):
                router.add({"GET"}, f"/route{i}/{{id:int}}", _numbered(i))
        case "stream":
            router.add({"GET"}, STREAM_PATH, stream)
        case "stream_chunked":
            router.add({"GET"}, STREAM_CHUNKED_PATH, stream_chunked)
        case "upload":
            router.add({"POST"}, UPLOAD_PATH, read_in)
        case "events":
            router.add({"GET"}, EVENTS_PATH, events)
        case "ws_echo":
            app.on_ws_request(WS_PATH)(ws_echo)
        case "stream_out":
            router.add({"GET"}, BIG_PATH, stream_out)
        case "read_in":
            router.add({"POST"}, UPLOAD_PATH, read_in)
    return app
