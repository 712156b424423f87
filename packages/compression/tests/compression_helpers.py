"""Shared by the compression tests: an app with every kind of response, and decoders."""

from __future__ import annotations

import asyncio
import gzip
import importlib
import json
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl

import httpx
import zstandard

from bareasgi import (
    Application,
    Content,
    HttpError,
    HttpResponse,
    Info,
    Matches,
    Scope,
    bytes_reader,
    bytes_writer,
    text_writer,
)
from bareasgi.testing import TestClient
from bareasgi_compression import add_compression

brotli: Any = importlib.import_module("brotli")  # no type stubs

TEXT: Final = ("The quick brown fox jumps over the lazy dog. " * 40).encode()
"""1,800 bytes of text: worth compressing."""
JSON: Final = json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(60)])
EVENTS: Final = [f"data: event {i} {'x' * 30}\n\n".encode() for i in range(5)]


def decode(coding: str | None, data: bytes) -> bytes:
    """A whole body decoded with the reference library of its coding."""
    if coding is None or coding == "identity":
        return data
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        out: bytes = brotli.decompress(data)
        return out
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise AssertionError(f"unknown coding {coding}")


class Decoder:
    """Decodes a compressed stream piece by piece, as a client does."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib: Any = None
        self._brotli: Any = None
        self._zstd: Any = None
        if coding == "gzip":
            self._zlib = zlib.decompressobj(31)
        elif coding == "br":
            self._brotli = brotli.Decompressor()
        else:
            self._zstd = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> bytes:
        if self._zlib is not None:
            out: bytes = self._zlib.decompress(data)
        elif self._brotli is not None:
            out = self._brotli.process(data)
        else:
            out = self._zstd.decompress(data)
        return out


@dataclass
class Stream:
    """What a streamed body produced, and whether its `finally` ran."""

    produced: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    body: Any = None


def build_app(**options: Any) -> tuple[Application, dict[str, Any]]:
    """An app with the plugin enabled from code (`options` are `add_compression`'s)."""
    app = Application()
    add_compression(app, **options)
    seen: dict[str, Any] = {}

    def route(path: str, methods: Iterable[str] = ("GET",)) -> Any:
        return app.on_http_request(set(methods), path)

    @route("/text")
    async def text(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"content-type", b"text/plain; charset=utf-8")], text_writer(TEXT.decode())

    @route("/json")
    async def json_(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"content-type", b"application/json")], JSON.encode()

    @route("/headers")
    async def with_headers(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """Headers from the query (`status` is the status; `body=empty` sends none)."""
        headers = [(b"content-type", b"text/html")]
        status, body = 200, TEXT
        for name, value in parse_qsl(scope["query_string"].decode(), keep_blank_values=True):
            if name == "status":
                status = int(value)
            elif name == "body":
                body = b""
            else:
                if name == "content-type":
                    headers = []
                headers.append((name.encode(), value.encode()))
        return status, headers, body

    @route("/chunked")
    async def chunked(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"content-type", b"text/plain")], bytes_writer(TEXT, chunk_size=100)

    @route("/small")
    async def small(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"content-type", b"text/plain")], b"small"

    @route("/stream")
    async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        state = seen["stream"] = Stream()

        async def body() -> AsyncIterator[bytes]:
            try:
                for _ in range(20):
                    state.produced += 1
                    yield TEXT
            finally:
                state.closed.set()

        state.body = body()
        return 200, [(b"content-type", b"text/plain"), (b"content-length", b"36000")], state.body

    @route("/events")
    async def events(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        state = seen["events"] = Stream()
        release: asyncio.Queue[bytes | None] = seen.setdefault("release", asyncio.Queue())

        async def body() -> AsyncIterator[bytes]:
            try:
                while (event := await release.get()) is not None:
                    state.produced += 1
                    yield event
            finally:
                state.closed.set()

        return 200, [(b"content-type", b"text/event-stream")], body()

    @route("/endless")
    async def endless(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        """A body that never awaits and never ends."""
        state = seen["endless"] = Stream()

        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    state.produced += 1
                    yield TEXT
            finally:
                state.closed.set()

        return 200, [(b"content-type", b"text/plain")], body()

    @route("/error")
    async def error(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise HttpError(409, TEXT, [(b"content-type", b"text/plain")])

    @route("/echo", ["POST"])
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        data = await bytes_reader(content)
        seen["echo-headers"] = dict(scope["headers"])
        return 200, [(b"content-type", b"application/octet-stream")], data

    app.http_router.add({"POST"}, "/small-limit", echo, max_body_size=100_000)
    return app, seen


@dataclass
class Raw:
    status: int
    headers: httpx.Headers
    body: bytes
    chunks: list[bytes]


async def raw_get(
    client: TestClient, path: str, accept: str | None = None, method: str = "GET", **kwargs: Any
) -> Raw:
    """The response as sent: the body not decoded, each chunk as it came."""
    client.http.headers.pop("accept-encoding", None)  # httpx's own: no request sends it
    headers = dict(kwargs.pop("headers", {}))
    if accept is not None:
        headers["accept-encoding"] = accept
    async with client.stream(method, path, headers=headers, **kwargs) as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    return Raw(response.status_code, response.headers, b"".join(chunks), chunks)
