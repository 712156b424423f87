"""Memory stays flat while a 256 MiB streamed body is compressed: chunk in, chunk out."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from bareasgi import Application, Content, Info, Matches, Scope
from bareasgi_compression import add_compression

CHUNK = bytes(range(256)) * 256  # 64 KiB
CHUNKS = 4096  # 256 MiB


async def test_a_256_mib_stream_is_compressed_in_flat_memory() -> None:
    app = Application()
    add_compression(app, gzip_level=1)

    @app.on_http_request({"GET"}, "/big")
    async def big(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(CHUNKS):
                yield CHUNK

        return 200, [(b"content-type", b"application/json")], body()

    decoder = zlib.decompressobj(31)
    received = {"compressed": 0, "decoded": 0, "done": False}
    finished = asyncio.Event()
    requested: list[bool] = []

    async def receive() -> dict[str, Any]:
        """The request once, then (as servers do) nothing until the response is over."""
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            data = message.get("body", b"")
            received["compressed"] += len(data)
            while True:  # decoded in bounded pieces, counted, dropped
                out = decoder.decompress(data, 65536)
                received["decoded"] += len(out)
                data = decoder.unconsumed_tail
                if not data and len(out) < 65536:
                    break
            received["done"] = not message.get("more_body", False)
            if received["done"]:
                finished.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/big",
        "raw_path": b"/big",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"accept-encoding", b"gzip")],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
    }
    gc.collect()
    tracemalloc.start()
    try:
        await app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received["done"]
    assert received["decoded"] == len(CHUNK) * CHUNKS
    assert received["compressed"] < len(CHUNK) * CHUNKS // 10
    assert peak < 4 * 1024 * 1024  # a few chunks and the compressor's state, never the body
