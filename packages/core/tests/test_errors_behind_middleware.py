"""HttpError answers keep their headers when middleware stands between them and the server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bareasgi import (
    Application,
    Content,
    HttpError,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    Matches,
    Scope,
    bytes_reader,
)
from bareasgi.testing import TestClient

TEXT = [(b"content-type", b"text/plain")]
CHALLENGE = b'Bearer realm="api", error="invalid_token"'


async def passthrough(
    scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
) -> HttpResponse:
    return await handler(scope, info, matches, content)


async def also_passthrough(
    scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
) -> HttpResponse:
    return await handler(scope, info, matches, content)


async def guard(
    scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
) -> HttpResponse:
    """Refuses `/guarded` itself, before any handler runs."""
    if scope["path"] == "/guarded":
        raise HttpError(401, b"who are you?", [(b"www-authenticate", CHALLENGE), *TEXT])
    return await handler(scope, info, matches, content)


def make_app(middlewares: list[HttpMiddleware]) -> Application:
    app = Application(middlewares=middlewares, max_body_size=500)

    @app.on_http_request({"GET"}, "/private")
    async def private(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise HttpError(401, b"token expired", [(b"www-authenticate", CHALLENGE), *TEXT])

    @app.on_http_request({"GET"}, "/guarded")
    async def guarded(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, b"should not be reached"

    @app.on_http_request({"POST"}, "/echo")
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, TEXT, await bytes_reader(content)

    return app


CHAINS = pytest.mark.parametrize(
    "middlewares",
    [[passthrough], [passthrough, also_passthrough], [guard], [passthrough, guard]],
    ids=["one", "two", "guard", "outer-and-guard"],
)


@CHAINS
async def test_http_error_from_a_handler_arrives_with_its_headers(
    middlewares: list[HttpMiddleware],
) -> None:
    async with TestClient(make_app(middlewares)) as client:
        first = await client.get("/private")
        second = await client.get("/private")
    for answer in (first, second):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == CHALLENGE.decode()
        assert answer.headers["content-type"] == "text/plain"
        assert answer.content == b"token expired"


async def test_http_error_from_a_middleware_arrives_with_its_headers() -> None:
    async with TestClient(make_app([passthrough, guard])) as client:
        answer = await client.get("/guarded")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == CHALLENGE.decode()
    assert answer.content == b"who are you?"


@CHAINS
async def test_413_behind_middleware_keeps_connection_close(
    middlewares: list[HttpMiddleware],
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 100

    async with TestClient(make_app(middlewares)) as client:
        fits = await client.post("/echo", content=b"z" * 500)
        declared = await client.post("/echo", content=b"z" * 501)
        streamed = await client.post("/echo", content=chunks())
    assert (fits.status_code, fits.content) == (200, b"z" * 500)
    assert "connection" not in fits.headers
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.headers["connection"] == "close"
