"""The compression plugin's cost: ``python -m benchmarks.plugins.compression`` (from the root).

Measured with the harness's own driver (``benchmarks.driver``: fresh uvicorn-shaped scopes,
batches prepared before the clock starts, gc on and collected before each batch), in one run,
cases interleaved and their order rotated from round to round. The figure is the median over
the rounds of µs per request; ratios are paired, as the harness takes them: the median over
rounds of the ratio within each round. Every app's answer is decoded and checked first.

Cases:

- ``json``: ``GET /data``, 16 KiB of JSON as ready-made bytes, client sending
  ``accept-encoding: gzip``, bareASGI without the plugin (so not compressed);
- ``json-gzip``: the same with ``plugins={'compression': {'encodings': ['gzip']}}`` (level 6);
- ``starlette`` / ``starlette-gzip``: the same on Starlette, without and with its
  ``GZipMiddleware(minimum_size=500, compresslevel=6)``;
- ``json-no-ask`` / ``enabled-no-ask``: the request without ``accept-encoding``, without and
  with the plugin enabled (every coding offered);
- ``stream-gzip``: ``GET /stream``, 1 MiB from an async generator of 16 ready-made 64 KiB
  chunks of NDJSON, gzip level 6 with a sync flush after every chunk (``flush_content_types``
  naming the type), against ``zlib-floor``: the same chunks through ``zlib.compressobj(6)``
  with ``Z_SYNC_FLUSH`` after each and the finish, alone (no ASGI, nothing sent): the physical
  limit.

Targets (issue 17): the time gzip adds to bareASGI (``json-gzip`` - ``json``) at most what it
adds to Starlette (``starlette-gzip`` - ``starlette``) in the same rounds; ``enabled-no-ask``
within 1.05x of ``json-no-ask``; ``stream-gzip`` within 1.2x of ``zlib-floor``.
41 rounds by default. It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope
from benchmarks.driver import (
    ASGIApp,
    Lifespan,
    RecordingExchange,
    exchange_for,
    prepare,
    run_batch,
)
from benchmarks.plugins._common import (
    Sampled,
    added,
    parser,
    ratio_targets,
    rounds_and_batch,
    spread,
    timed,
)
from benchmarks.scenarios import Request


def _json_16k() -> bytes:
    records: list[dict[str, Any]] = []
    i = 0
    while len(json.dumps(records)) < 16 * 1024:
        records.append({"id": i, "name": f"user {i}", "email": f"user{i}@example.com", "ok": True})
        i += 1
    return json.dumps(records[:-1]).encode()


JSON_16K: Final = _json_16k()
LINE: Final = b'{"id": 12345, "event": "update", "value": 0.5, "tags": ["a", "b", "c"]}\n'
CHUNKS: Final = tuple(
    (LINE.replace(b"12345", b"%05d" % n) * (64 * 1024 // len(LINE) + 1))[: 64 * 1024]
    for n in range(16)
)
STREAM: Final = b"".join(CHUNKS)
NDJSON: Final = b"application/x-ndjson"

ASKING: Final = ((b"accept-encoding", b"gzip"),)
JSON_ASKING: Final = Request("GET", "/data", 200, None, headers=ASKING)
JSON_NOT_ASKING: Final = Request("GET", "/data", 200, len(JSON_16K))
STREAM_ASKING: Final = Request("GET", "/stream", 200, None, headers=ASKING)


async def data(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"application/json")], JSON_16K


async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        for chunk in CHUNKS:
            yield chunk

    return 200, [(b"content-type", NDJSON)], body()


def bareasgi_app(plugins: dict[str, Any] | None) -> ASGIApp:
    app = Application(plugins=plugins)
    app.http_router.add({"GET"}, "/data", data)
    app.http_router.add({"GET"}, "/stream", stream)
    return app


def starlette_app(gzip_middleware: bool) -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: StarletteRequest) -> Response:
        return Response(JSON_16K, media_type="application/json")

    middleware = (
        [Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)] if gzip_middleware else []
    )
    app: ASGIApp = Starlette(routes=[Route("/data", endpoint)], middleware=middleware)
    return app


async def zlib_floor(scope: Scope, receive: Any, send: Any) -> None:
    """The physical limit: the chunks through zlib alone, level 6, a sync flush after each."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in CHUNKS:
        compressor.compress(chunk)
        compressor.flush(zlib.Z_SYNC_FLUSH)
    compressor.flush(zlib.Z_FINISH)


APPS: Final[dict[str, Callable[[], ASGIApp]]] = {
    "none": lambda: bareasgi_app(None),
    "gzip": lambda: bareasgi_app({"compression": {"encodings": ["gzip"], "gzip_level": 6}}),
    "all": lambda: bareasgi_app({"compression": {}}),
    "stream": lambda: bareasgi_app(
        {"compression": {"encodings": ["gzip"], "flush_content_types": [NDJSON.decode()]}}
    ),
    "starlette": lambda: starlette_app(False),
    "starlette-gzip": lambda: starlette_app(True),
}


@dataclass
class Case(Sampled):
    key: str
    title: str
    app: str
    """The key of the app in APPS, or "floor"."""
    request: Request
    expected: bytes
    coding: str | None
    """The content-encoding the answer must have."""
    batch_share: int = 1
    """Batch size divisor: the 1 MiB stream cases run fewer requests per batch."""


def cases() -> list[Case]:
    return [
        Case(
            "json", "16 KiB JSON, client asks gzip, no plugin", "none", JSON_ASKING, JSON_16K, None
        ),
        Case("json-gzip", "16 KiB JSON, gzip 6", "gzip", JSON_ASKING, JSON_16K, "gzip"),
        Case("starlette", "Starlette, 16 KiB JSON", "starlette", JSON_ASKING, JSON_16K, None),
        Case(
            "starlette-gzip",
            "Starlette + GZipMiddleware(compresslevel=6)",
            "starlette-gzip",
            JSON_ASKING,
            JSON_16K,
            "gzip",
        ),
        Case(
            "json-no-ask",
            "16 KiB JSON, no accept-encoding, no plugin",
            "none",
            JSON_NOT_ASKING,
            JSON_16K,
            None,
        ),
        Case(
            "enabled-no-ask",
            "16 KiB JSON, no accept-encoding, plugin enabled",
            "all",
            JSON_NOT_ASKING,
            JSON_16K,
            None,
        ),
        Case(
            "stream-gzip",
            "1 MiB streamed (16 x 64 KiB), gzip 6 + sync flush per chunk",
            "stream",
            STREAM_ASKING,
            STREAM,
            "gzip",
            batch_share=100,
        ),
        Case(
            "zlib-floor",
            "the same chunks through zlib alone (level 6, sync flush)",
            "floor",
            STREAM_ASKING,
            b"",
            None,
            batch_share=100,
        ),
    ]


async def _check(case: Case, app: ASGIApp, state: dict[str, Any]) -> str | None:
    """What is wrong with the app's answer (None: right)."""
    if case.app == "floor":
        return None
    exchange = exchange_for(case.request, state, record=True)
    assert isinstance(exchange, RecordingExchange)
    await app(exchange.scope, exchange.receive, exchange.send)
    if exchange.status != 200 or not exchange.complete:
        return f"status {exchange.status}, complete {exchange.complete}"
    headers = dict(exchange.headers)
    coding = headers.get(b"content-encoding")
    if coding != (case.coding.encode() if case.coding else None):
        return f"content-encoding {coding!r}, expected {case.coding!r}"
    body = bytes(exchange.body)
    if coding == b"gzip":
        body = gzip.decompress(body)
    if body != case.expected:
        return f"not the expected body once decoded ({len(body)} bytes)"
    return None


async def run(rounds: int, batch: int, progress: bool) -> list[Case]:
    all_cases = cases()
    apps: dict[str, ASGIApp] = {key: make() for key, make in APPS.items()}
    apps["floor"] = zlib_floor
    lifespans = {key: Lifespan(app) for key, app in apps.items() if key != "floor"}
    for lifespan in lifespans.values():
        await lifespan.startup()
    try:
        for case in all_cases:
            app = apps[case.app]
            state = lifespans[case.app].state if case.app in lifespans else {}
            try:
                case.problem = await _check(case, app, state)
            except Exception as error:  # an import or a framework failing
                case.problem = f"raised {error!r}"
            if case.problem is None:
                size = max(2, batch // case.batch_share)
                await run_batch(app, prepare((case.request,), 0, size, state))
        live = [case for case in all_cases if case.problem is None]
        for round_ in range(rounds):
            shift = round_ % max(1, len(live))
            for case in live[shift:] + live[:shift]:
                state = lifespans[case.app].state if case.app in lifespans else {}
                await timed(
                    case,
                    apps[case.app],
                    (case.request,),
                    state,
                    max(2, batch // case.batch_share),
                    check=case.app != "floor",
                )
            if progress:
                line = ", ".join(f"{c.key} {c.samples[-1]:.1f}" for c in live if c.samples)
                print(f"  round {round_ + 1}/{rounds}: {line}", file=sys.stderr, flush=True)
    finally:
        for lifespan in lifespans.values():
            await lifespan.shutdown()
    return all_cases


def report(all_cases: Sequence[Case]) -> tuple[str, bool]:
    by_key = {case.key: case for case in all_cases}
    lines = [
        "Compression plugin (bareasgi-compression)",
        "",
        f"{'case':<16} {'µs/req':>9}  {'min - max':>17}",
    ]
    for case in all_cases:
        if case.median is None:
            lines.append(f"{case.key:<16} FAILED: {case.problem}")
            continue
        lines.append(f"{case.key:<16} {case.median:>9.2f}  {spread(case):>17}  {case.title}")
    lines += ["", "targets (paired within each round, median over rounds)"]
    missed = False

    ours = added(by_key["json-gzip"], by_key["json"])
    theirs = added(by_key["starlette-gzip"], by_key["starlette"])
    if ours is None or theirs is None:
        lines.append("  gzip's added time vs Starlette's GZipMiddleware: NOT RUN")
        missed = True
    else:
        verdict = "MET" if ours <= theirs else "MISSED"
        missed = missed or verdict == "MISSED"
        lines.append(
            f"  gzip adds {ours:.1f} µs to bareASGI, GZipMiddleware {theirs:.1f} µs to "
            f"Starlette (target: at most Starlette's): {verdict}"
        )
    target_lines, also_missed = ratio_targets(
        by_key, (("enabled-no-ask", "json-no-ask", 1.05), ("stream-gzip", "zlib-floor", 1.2))
    )
    return "\n".join(lines + target_lines), missed or also_missed


def main(argv: Sequence[str] | None = None) -> int:
    args = parser("python -m benchmarks.plugins.compression").parse_args(argv)
    rounds, batch = rounds_and_batch(args)
    text, missed = report(asyncio.run(run(rounds, batch, args.progress)))
    print(text, flush=True)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
