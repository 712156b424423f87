"""Request bodies sent with `content-encoding: gzip`: decoded only when asked, counted against
the route's body limit as decoded, refused cleanly when bad."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from compression_helpers import TEXT, build_app

from bareasgi import Application, Content, Info, Matches, Scope, bytes_reader
from bareasgi.testing import TestClient
from bareasgi_compression import DecodedBody, add_compression


async def post(client: TestClient, path: str, body: bytes, encoding: bytes | None = b"gzip") -> Any:
    headers = [(b"content-type", b"application/octet-stream")]
    if encoding is not None:
        headers.append((b"content-encoding", encoding))
    return await client.raw_request("POST", path.encode(), headers=headers, body=body)


async def test_off_by_default_the_handler_gets_the_body_as_sent() -> None:
    app, seen = build_app()
    encoded = gzip.compress(TEXT)
    async with TestClient(app) as client:
        response = await post(client, "/echo", encoded)
    assert response.status_code == 200
    assert response.content == encoded
    assert seen["echo-headers"][b"content-encoding"] == b"gzip"


@pytest.mark.parametrize("encoding", [b"gzip", b"x-gzip", b"GZIP", b"identity, gzip"])
async def test_a_gzip_body_is_decoded(encoding: bytes) -> None:
    app, seen = build_app(decompress_requests=True)
    async with TestClient(app) as client:
        response = await post(client, "/echo", gzip.compress(TEXT * 10), encoding)
    assert response.status_code == 200
    assert response.content == TEXT * 10
    # The handler's headers describe the body it reads.
    assert b"content-encoding" not in seen["echo-headers"]
    assert b"content-length" not in seen["echo-headers"]


async def test_concatenated_members_and_no_encoding() -> None:
    app, _ = build_app(decompress_requests=True)
    async with TestClient(app) as client:
        members = await post(client, "/echo", gzip.compress(b"one ") + gzip.compress(b"two"))
        plain = await post(client, "/echo", TEXT, None)
        identity = await post(client, "/echo", TEXT, b"identity")
        empty = await post(client, "/echo", b"")
    assert members.content == b"one two"
    assert plain.content == TEXT
    assert identity.content == TEXT
    assert (empty.status_code, empty.content) == (200, b"")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not gzip at all", 400),
        (gzip.compress(TEXT)[:-20], 400),  # truncated
        (gzip.compress(TEXT) + b"garbage", 400),
    ],
)
async def test_bad_gzip_is_a_400(body: bytes, status: int) -> None:
    app, _ = build_app(decompress_requests=True)
    async with TestClient(app) as client:
        response = await post(client, "/echo", body)
    assert response.status_code == status
    assert b"gzip" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.parametrize("encoding", [b"br", b"deflate", b"gzip, gzip", b"zstd", b"compress"])
async def test_other_codings_are_a_415_naming_gzip(encoding: bytes) -> None:
    app, seen = build_app(decompress_requests=True)
    async with TestClient(app) as client:
        response = await post(client, "/echo", b"whatever", encoding)
    assert response.status_code == 415
    assert response.headers["accept-encoding"] == "gzip"
    assert "echo-headers" not in seen  # the handler never ran


async def test_a_body_expanding_1000x_is_a_413_once_past_the_limit() -> None:
    """10 KiB of gzip that would expand to 10 MiB, against a route limit of 100,000 bytes."""
    app, _ = build_app(decompress_requests=True)
    bomb = gzip.compress(bytes(10 * 1024 * 1024), 9)
    assert len(bomb) < 11 * 1024
    read: list[int] = []

    @app.on_http_request({"POST"}, "/count", max_body_size=100_000)
    async def count(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async for chunk in content:
            read.append(len(chunk))
        return 200

    async with TestClient(app) as client:
        response = await post(client, "/count", bomb)
        echoed = await post(client, "/small-limit", bomb)
    assert response.status_code == 413
    assert b"100000" in response.content
    assert response.headers["connection"] == "close"
    assert echoed.status_code == 413
    # Decoded in pieces of at most 64 KiB, and stopped once past the limit.
    assert max(read) <= 64 * 1024
    assert sum(read) <= 100_000


async def test_the_applications_limit_counts_when_the_route_has_none() -> None:
    app = Application(max_body_size=50_000)
    add_compression(app, decompress_requests=True)

    @app.on_http_request({"POST"}, "/echo")
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [], await bytes_reader(content)

    async with TestClient(app) as client:
        under = await post(client, "/echo", gzip.compress(bytes(50_000)))
        over = await post(client, "/echo", gzip.compress(bytes(50_001)))
    assert (under.status_code, len(under.content)) == (200, 50_000)
    assert over.status_code == 413


async def test_the_decoder_goes_in_the_requests_clean_up() -> None:
    app = Application()
    add_compression(app, decompress_requests=True)
    bodies: list[DecodedBody] = []
    cleaned: list[str] = []

    @app.on_http_request({"POST"}, "/first-piece")
    async def first_piece(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        assert isinstance(content, DecodedBody)
        bodies.append(content)
        content.add_cleanup(lambda: cleaned.append("handler's"))  # the request body's hook
        return 200, [], await anext(aiter(content))  # reads one piece, leaves the rest

    async with TestClient(app) as client:
        response = await post(client, "/first-piece", gzip.compress(TEXT * 100))
    assert response.status_code == 200
    assert response.content == (TEXT * 100)[: len(response.content)]
    assert cleaned == ["handler's"]
    assert bodies[0]._decoder is None  # let go of by the clean-up
    with pytest.raises(StopAsyncIteration):
        await anext(bodies[0])
