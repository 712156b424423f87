"""What a client gets: negotiation, when a body is compressed, the headers of a compressed
answer, whole and streamed bodies, HEAD, and the handler's body closed when the client goes."""

from __future__ import annotations

import asyncio
import inspect
import zlib
from typing import Any

import pytest
from compression_helpers import EVENTS, JSON, TEXT, Decoder, build_app, decode, raw_get

from bareasgi.testing import TestClient

CODINGS = ["gzip", "br", "zstd"]


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("path", ["/text", "/json", "/chunked", "/stream"])
async def test_each_coding_round_trips(coding: str, path: str) -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(client, path, coding)
    expected = {"/text": TEXT, "/json": JSON.encode(), "/chunked": TEXT, "/stream": TEXT * 20}
    assert raw.status == 200
    assert raw.headers["content-encoding"] == coding
    assert raw.headers["vary"] == "accept-encoding"
    assert decode(coding, raw.body) == expected[path]
    assert len(raw.body) < len(expected[path])
    if path == "/stream":  # a stream's length is not known before it is compressed
        assert "content-length" not in raw.headers
    else:
        assert raw.headers["content-length"] == str(len(raw.body))


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("GZIP", "gzip"),
        ("gzip, deflate, br, zstd", "zstd"),  # equal weights: the server's order
        ("gzip,br", "br"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0.9,gzip", "gzip"),
        ("zstd ; q=0.1 , br ;q=0.2, gzip; q=0.3", "gzip"),
        ("*", "zstd"),
        ("*;q=0.5, gzip", "gzip"),
        ("gzip;q=0, *;q=1", "zstd"),
        ("gzip;q=0, *", "zstd"),
        ("zstd;q=0, br;q=0, *;q=0.1", "gzip"),
        ("identity", None),
        ("identity;q=1, gzip;q=0.5", None),
        ("gzip;q=0.5, identity;q=0.5", "gzip"),
        ("gzip;q=0", None),
        ("*;q=0", None),
        ("", None),
        ("deflate", None),
        ("compress, deflate", None),
        ("br;q=abc", None),  # an invalid weight: the member is skipped
        ("br;q=abc, gzip", "gzip"),
        ("gzip;q=1.5", None),
        ("gzip;q=0.0001", None),
        (",,, ,gzip,,", "gzip"),
    ],
)
async def test_negotiation(accept: str, chosen: str | None) -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(client, "/text", accept)
    assert raw.headers.get("content-encoding") == chosen
    assert decode(chosen, raw.body) == TEXT


async def test_the_servers_order_is_settable_and_decides_between_equal_weights() -> None:
    app, _ = build_app(encodings=["gzip", "br"])
    async with TestClient(app) as client:
        assert (await raw_get(client, "/text", "zstd, br, gzip")).headers["content-encoding"] == (
            "gzip"
        )
        assert (await raw_get(client, "/text", "zstd")).headers.get("content-encoding") is None
        assert (await raw_get(client, "/text", "gzip;q=0.5, br")).headers[
            "content-encoding"
        ] == "br"


async def test_several_accept_encoding_headers_are_one_list() -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        response = await client.raw_request(
            "GET",
            b"/text",
            headers=[(b"accept-encoding", b"zstd;q=0"), (b"accept-encoding", b"gzip")],
        )
    assert response.headers["content-encoding"] == "gzip"


async def test_no_accept_encoding_no_change() -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(client, "/text")
    assert "content-encoding" not in raw.headers
    assert "vary" not in raw.headers
    assert raw.body == TEXT
    assert raw.headers["content-length"] == str(len(TEXT))


@pytest.mark.parametrize(
    ("query", "compressed"),
    [
        ("", True),
        ("content-type=text/css", True),
        ("content-type=application/javascript", True),
        ("content-type=application/ld%2Bjson", True),
        ("content-type=application/atom%2Bxml; charset=utf-8", True),
        ("content-type=image/svg%2Bxml", True),
        ("content-type=TEXT/HTML; Charset=UTF-8", True),
        ("content-type=image/png", False),
        ("content-type=application/octet-stream", False),
        ("content-type=application/zip", False),
        ("content-type=", False),
        ("content-encoding=br", False),
        ("content-encoding=identity", False),
        ("content-range=bytes 0-1799/5000&status=206", False),
        ("cache-control=no-transform", False),
        ("cache-control=public, No-Transform, max-age=60", False),
        ("cache-control=public, max-age=60", True),
        ("content-digest=sha-256=:abc=:", False),
        ("status=204&body=empty", False),
        ("status=404", True),
        ("status=500", True),
    ],
)
async def test_only_when_it_pays_and_is_allowed(query: str, compressed: bool) -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(client, f"/headers?{query}", "gzip")
    assert (raw.headers.get("content-encoding") == "gzip") is compressed
    if compressed:
        assert decode("gzip", raw.body) == TEXT
    elif raw.status != 204:
        assert raw.body == TEXT


async def test_the_content_type_list_is_settable() -> None:
    app, _ = build_app(content_types=["image/png", "+yaml"])
    async with TestClient(app) as client:
        png = await raw_get(client, "/headers?content-type=image/png", "gzip")
        yaml = await raw_get(client, "/headers?content-type=application/x%2Byaml", "gzip")
        html = await raw_get(client, "/headers", "gzip")
    assert png.headers["content-encoding"] == "gzip"
    assert yaml.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in html.headers


@pytest.mark.parametrize(("minimum", "compressed"), [(0, True), (1800, True), (1801, False)])
async def test_the_minimum_size(minimum: int, compressed: bool) -> None:
    app, _ = build_app(minimum_size=minimum)
    async with TestClient(app) as client:
        raw = await raw_get(client, "/text", "gzip")
        small = await raw_get(client, "/small", "gzip")
    assert ("content-encoding" in raw.headers) is compressed
    assert ("content-encoding" in small.headers) is (minimum == 0)


async def test_a_stream_declaring_a_small_length_is_left_alone() -> None:
    app, _ = build_app(minimum_size=40_000)  # /stream says content-length: 36000
    async with TestClient(app) as client:
        raw = await raw_get(client, "/stream", "gzip")
    assert "content-encoding" not in raw.headers
    assert raw.headers["content-length"] == "36000"
    assert raw.body == TEXT * 20


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ("origin", "origin, accept-encoding"),
        ("Origin, Accept-Language", "Origin, Accept-Language, accept-encoding"),
        ("Accept-Encoding", "Accept-Encoding"),
        ("origin,accept-encoding", "origin,accept-encoding"),
        ("*", "*"),
    ],
)
async def test_vary_is_merged(vary: str, expected: str) -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(client, f"/headers?vary={vary}", "gzip")
    assert raw.headers.get_list("vary") == [expected]
    assert raw.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    ("etag", "expected"),
    [('"abc"', 'W/"abc"'), ('W/"abc"', 'W/"abc"'), ('""', 'W/""')],
)
async def test_a_strong_etag_is_made_weak(etag: str, expected: str) -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        compressed = await raw_get(client, f"/headers?etag={etag}", "gzip")
        plain = await raw_get(client, f"/headers?etag={etag}", "identity")
        not_modified = await raw_get(client, f"/headers?etag={etag}&status=304&body=", "br")
    assert compressed.headers["etag"] == expected
    assert plain.headers["etag"] == etag  # not compressed: not changed
    assert not_modified.status == 304
    assert not_modified.headers["etag"] == expected  # what the 200 said
    assert not_modified.headers["vary"] == "accept-encoding"
    assert "content-encoding" not in not_modified.headers


async def test_a_304_of_another_kind_is_left_alone() -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(
            client, '/headers?content-type=image/png&etag="x"&status=304&body=', "gzip"
        )
    assert raw.headers["etag"] == '"x"'
    assert "vary" not in raw.headers


async def test_an_http_error_is_compressed_too() -> None:
    app, _ = build_app()
    async with TestClient(app) as client:
        raw = await raw_get(client, "/error", "gzip")
        missing = await raw_get(client, "/missing", "gzip")
    assert raw.status == 409
    assert decode(raw.headers["content-encoding"], raw.body) == TEXT
    assert missing.status == 404
    assert "content-encoding" not in missing.headers  # too small


@pytest.mark.parametrize("path", ["/text", "/chunked", "/stream", "/json"])
async def test_head_gets_the_get_headers_without_content_length(path: str) -> None:
    app, seen = build_app()
    async with TestClient(app) as client:
        get = await raw_get(client, path, "gzip")
        head = await raw_get(client, path, "gzip", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    expected = {k: v for k, v in get.headers.items() if k != "content-length"}
    assert dict(head.headers.items()) == expected
    if path == "/stream":
        # The handler's body was closed, never read.
        assert inspect.getasyncgenstate(seen["stream"].body) == inspect.AGEN_CLOSED
        assert seen["stream"].produced == 0


async def test_a_head_handler_giving_only_the_length() -> None:
    """A HEAD answer with the GET's content-length and no body (as bareasgi-static gives)."""
    app, _ = build_app()

    @app.on_http_request({"HEAD"}, "/text")
    async def head(*_: Any) -> Any:
        return 200, [(b"content-type", b"text/plain"), (b"content-length", b"1800")], b""

    async with TestClient(app) as client:
        raw = await raw_get(client, "/text", "gzip", method="HEAD")
        small = await raw_get(client, "/small", "gzip", method="HEAD")
    assert raw.headers["content-encoding"] == "gzip"
    assert "content-length" not in raw.headers
    assert small.headers["content-length"] == "5"
    assert "content-encoding" not in small.headers


@pytest.mark.parametrize("coding", CODINGS)
async def test_events_arrive_one_by_one(coding: str) -> None:
    """text/event-stream is flushed after every chunk: each chunk sent decodes to its event."""
    app, seen = build_app()
    release: asyncio.Queue[bytes | None] = seen.setdefault("release", asyncio.Queue())
    decoder = Decoder(coding)
    got: list[bytes] = []
    async with TestClient(app) as client:
        client.http.headers.pop("accept-encoding", None)
        async with client.stream("GET", "/events", headers={"accept-encoding": coding}) as r:
            assert r.headers["content-encoding"] == coding
            assert "content-length" not in r.headers
            chunks = r.aiter_raw()
            for event in EVENTS:
                await release.put(event)
                decoded = decoder.feed(await anext(chunks))
                got.append(decoded)
            await release.put(None)
            rest = b"".join([chunk async for chunk in chunks])
    assert got == EVENTS
    assert decoder.feed(rest) == b""
    assert seen["events"].closed.is_set()


async def test_a_stream_comes_out_as_the_compressor_yields_it() -> None:
    app, seen = build_app()
    async with (
        TestClient(app) as client,
        client.stream("GET", "/stream", headers={"accept-encoding": "gzip"}) as r,
    ):
        chunks = [chunk async for chunk in r.aiter_raw()]
    assert len(chunks) >= 2  # the compressor's output as it came, then its end
    assert zlib.decompress(b"".join(chunks), 31) == TEXT * 20
    assert seen["stream"].closed.is_set()


@pytest.mark.parametrize("path", ["/events", "/endless"])
@pytest.mark.parametrize("coding", CODINGS)
async def test_a_client_going_away_closes_the_handlers_body(path: str, coding: str) -> None:
    app, seen = build_app()
    release: asyncio.Queue[bytes | None] = seen.setdefault("release", asyncio.Queue())
    for event in EVENTS:
        release.put_nowait(event)
    async with TestClient(app) as client:
        client.http.headers.pop("accept-encoding", None)
        async with client.stream("GET", path, headers={"accept-encoding": coding}) as r:
            assert r.headers["content-encoding"] == coding
            await anext(r.aiter_raw())
            state = seen[path.strip("/")]
            before = state.produced
        # Left early: the client has gone.
        await asyncio.wait_for(state.closed.wait(), 10)
        await client.wait_for_app_tasks()
    after = state.produced - before
    if path == "/events":
        assert after <= len(EVENTS)  # blocked on the queue, interrupted at once
    else:
        # Never awaiting: stopped at a turn of the loop, within a few MiB of input (the
        # compressor may take many MiB of such repetitive text before it gives anything).
        assert after < 4 * 1024 * 1024 // len(TEXT)
