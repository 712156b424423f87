"""Properties: whatever the body and its chunking, every coding round-trips; a flushed stream
decodes up to each chunk at once; a gzip upload decodes whatever its split, and the limit is
exact; negotiation picks the best acceptable coding, the server's order between equals."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from compression_helpers import TEXT, Decoder, decode
from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi import HttpError
from bareasgi_compression import CompressedStream, Compression, CompressionOptions, DecodedBody

CODINGS = ("gzip", "br", "zstd")
STATE = Compression(CompressionOptions())
CODING_BY_NAME = {coding.name: coding for coding in STATE.codings}

chunk_lists = st.lists(
    st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode)), max_size=12
)


async def _chunks(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def run(coroutine: object) -> object:
    import asyncio

    return asyncio.run(coroutine)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(chunks=chunk_lists, coding=st.sampled_from(CODINGS), flush=st.booleans())
def test_every_coding_and_chunking_round_trips(
    chunks: list[bytes], coding: str, flush: bool
) -> None:
    async def collect() -> bytes:
        stream = CompressedStream(_chunks(chunks), CODING_BY_NAME[coding].stream(), flush)
        return b"".join([piece async for piece in stream])

    compressed = run(collect())
    assert isinstance(compressed, bytes)
    assert decode(coding, compressed) == b"".join(chunks)
    assert decode(coding, CODING_BY_NAME[coding].compress(b"".join(chunks))) == b"".join(chunks)


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=2000), max_size=8),
    coding=st.sampled_from(CODINGS),
)
def test_a_flushed_stream_decodes_each_chunk_as_it_comes(chunks: list[bytes], coding: str) -> None:
    async def check() -> None:
        stream = CompressedStream(_chunks(chunks), CODING_BY_NAME[coding].stream(), True)
        decoder = Decoder(coding)
        for chunk in chunks:
            assert decoder.feed(await anext(stream)) == chunk
        assert decoder.feed(b"".join([piece async for piece in stream])) == b""

    run(check())


async def _read(body: DecodedBody) -> bytes:
    return b"".join([piece async for piece in body])


@settings(max_examples=60, deadline=None)
@given(
    body=st.one_of(st.binary(max_size=5000), st.integers(0, 300_000).map(bytes)),
    cuts=st.lists(st.integers(0, 6000), max_size=6),
    limit=st.integers(0, 300_000),
)
def test_a_gzip_upload_decodes_whatever_its_split_and_the_limit_is_exact(
    body: bytes, cuts: list[int], limit: int
) -> None:
    encoded = gzip.compress(body)
    points = sorted({min(cut, len(encoded)) for cut in cuts} | {0, len(encoded)})
    pieces = [encoded[a:b] for a, b in itertools.pairwise(points)]

    async def decoded() -> bytes | int:
        try:
            return await _read(DecodedBody(_chunks(pieces), limit))
        except HttpError as error:
            return error.status

    result = run(decoded())
    if len(body) > limit:
        assert result == 413
    else:
        assert result == body


weights = st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=0.500", " ; q=0.2", ";q=abc"])
members = st.tuples(
    st.sampled_from(["gzip", "br", "zstd", "identity", "*", "deflate", "x-gzip", "GZIP"]), weights
)


@settings(max_examples=300, deadline=None)
@given(st.lists(members, max_size=8), st.permutations(CODINGS))
def test_negotiation_picks_the_best_acceptable_coding(
    listed: list[tuple[str, str]], order: list[str]
) -> None:
    state = Compression(CompressionOptions(encodings=tuple(order)))
    header = ", ".join(name + weight for name, weight in listed)
    # The reference: RFC 9110 12.5.3 read plainly.
    seen: dict[str, float] = {}
    for name, weight in listed:
        value = weight.replace(" ", "").removeprefix(";q=")
        if value == "abc":
            continue
        name = {"x-gzip": "gzip"}.get(name.lower(), name.lower())
        seen.setdefault(name, float(value) if value else 1.0)
    star = seen.get("*", 0.0)
    offered = [*order, "identity"]
    best = max((seen.get(name, star) for name in offered), default=0.0)
    expected = None
    if best > 0:
        expected = next(name for name in offered if seen.get(name, star) == best)
    if expected == "identity":
        expected = None
    assert state.negotiate(header) == expected


def test_every_coding_is_installed_for_these_tests() -> None:
    assert sorted(STATE.encodings) == sorted(CODINGS)


@pytest.mark.parametrize("coding", CODINGS)
def test_an_empty_body(coding: str) -> None:
    assert decode(coding, CODING_BY_NAME[coding].compress(b"")) == b""


# ---- the fast path against the general one --------------------------------------------------

outcomes = st.sampled_from(["text", "small", "error", "bare", "stream", "png"])
accepts = st.one_of(
    st.none(),
    st.sampled_from(["gzip", "br;q=0.5, zstd", "identity", "gzip;q=0, *", "", "x;q=abc"]),
)


def _app(first: bool) -> Any:
    """The plugin outermost (its fast path) or behind a plugin with middleware (general)."""
    import bareasgi_compression.plugin as plugin
    from bareasgi import Application

    class Before:
        name = "before"

        @staticmethod
        def bareasgi_middleware(plugin: Any) -> Any:
            return None

    plugins: list[Any] = [plugin] if first else [Before, plugin]
    app = Application(plugins=plugins)

    async def answer(scope: Any, info: Any, matches: Any, content: Any) -> Any:
        kind = scope["path"].strip("/")
        headers = [(b"content-type", b"image/png" if kind == "png" else b"text/plain")]
        if kind == "error":
            raise HttpError(418, TEXT, list(headers))
        if kind == "bare":
            return 204
        if kind == "small":
            return 200, headers, b"small"
        if kind == "stream":

            async def body() -> AsyncIterator[bytes]:
                yield TEXT
                yield TEXT

            return 200, headers, body()
        return 200, [*headers, (b"etag", b'"e"')], TEXT

    for kind in ("text", "small", "error", "bare", "stream", "png"):
        app.http_router.add({"GET"}, f"/{kind}", answer)
    return app


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(outcomes, accepts, st.sampled_from(["GET", "HEAD"])), max_size=6))
def test_the_fast_path_answers_as_the_general_one(requests: list[Any]) -> None:
    from bareasgi.testing import TestClient

    async def answers(first: bool) -> list[Any]:
        app = _app(first)
        got = []
        async with TestClient(app) as client:
            fast = app.plugins["compression"].state.middleware is not _middleware_in_use(app)
            assert fast is first  # which path ran is proven, not assumed
            for kind, accept, method in requests:
                headers = [] if accept is None else [(b"accept-encoding", accept.encode())]
                response = await client.raw_request(method, f"/{kind}".encode(), headers=headers)
                got.append((response.status_code, sorted(response.headers.raw), response.content))
        return got

    assert run(answers(True)) == run(answers(False))


def _middleware_in_use(app: Any) -> Any:
    """The compression middleware the application composed (the plugin's hook answer)."""
    return next(mw for enabled, mw in app.plugins.results("bareasgi_middleware") if mw is not None)
