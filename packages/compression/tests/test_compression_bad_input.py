"""Bad input: accept-encoding a browser would never send, and bodies that are not bytes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from compression_helpers import TEXT, build_app, decode, raw_get

from bareasgi import Application
from bareasgi.testing import TestClient
from bareasgi_compression import add_compression


@pytest.mark.parametrize(
    "accept",
    [
        b", ".join([b"gzip;q=0"] * 10_000),  # 10,000 tokens (90 KB): not parsed, not encoded
        b", ".join(b"x%d" % i for i in range(10_000)),
        b"gzip;q=abc",
        b"gzip;q=",
        b"gzip;q",
        b"gzip;;;q=1;;",
        b"gzip;q=-1",
        b"gzip;q=1e0",
        b"\xff\xfe gzip",
        b"gzip\x00",
        b";q=1",
        b"=",
        b"*;q=0, identity;q=0",
    ],
    ids=lambda value: repr(value[:40]),
)
async def test_odd_accept_encoding_is_answered_plainly_or_as_asked(accept: bytes) -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        response = await client.raw_request("GET", b"/text", headers=[(b"accept-encoding", accept)])
        again = await client.raw_request("GET", b"/text", headers=[(b"accept-encoding", accept)])
    assert response.status_code == 200
    assert again.headers.get("content-encoding") == response.headers.get("content-encoding")
    coding = response.headers.get("content-encoding")
    assert coding in (None, "gzip")
    assert response.content == TEXT  # httpx decodes what it was sent


def test_long_accept_encoding_is_not_parsed_and_not_kept() -> None:
    app = Application()
    state = add_compression(app)
    long = b", ".join([b"gzip"] * 10_000)
    assert state.negotiate(long) is None
    assert long not in state._negotiated
    for i in range(1000):  # the negotiated answers stay bounded
        state.negotiate(b"gzip, x%d" % i)
    assert len(state._negotiated) <= 256


def test_the_10000_token_parse_is_refused_by_length_not_by_time() -> None:
    app = Application()
    compression = add_compression(app)
    assert compression.negotiate(b"gzip;q=0, *;q=1") == "zstd"
    assert compression.negotiate(b"gzip;q=0, " + b"x, " * 400 + b"*;q=1") is None  # > 1 KiB


async def test_a_body_yielding_text_ends_the_connection_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application()
    add_compression(app)

    @app.on_http_request({"GET"}, "/")
    async def index(*_: Any) -> Any:
        async def body() -> AsyncIterator[Any]:
            yield TEXT
            yield "text, not bytes"

        return 200, [(b"content-type", b"text/plain")], body()

    async with TestClient(app) as client:
        with pytest.raises(Exception):  # noqa: B017  the cut-off response
            await raw_get(client, "/", "gzip")
        await client.wait_for_app_tasks()
    assert any(
        r.levelno == logging.ERROR and "failed while streaming" in r.getMessage()
        for r in caplog.records
    )


async def test_bytes_like_chunks_are_taken() -> None:
    app = Application()
    add_compression(app)

    @app.on_http_request({"GET"}, "/")
    async def index(*_: Any) -> Any:
        async def body() -> AsyncIterator[Any]:
            yield bytearray(TEXT)
            yield memoryview(TEXT)
            yield b""

        return 200, [(b"content-type", b"text/plain")], body()

    async with TestClient(app) as client:
        raw = await raw_get(client, "/", "gzip")
    assert decode("gzip", raw.body) == TEXT * 2
