"""Core's request helpers (issue 16): ``python -m benchmarks.plugins.helpers`` (from the root).

Measured with the harness's own driver (``benchmarks.driver``: fresh uvicorn-shaped scopes,
batches prepared before the clock starts, gc on and collected before each batch, every answer
verified after it), in one run, cases interleaved and their order rotated from round to round;
the figure is the median over rounds of µs per request, ratios paired (the median over rounds
of the ratio within each round), as the harness takes them.

Cases:

- ``urlencoded``: ``POST /form`` with a 10-field urlencoded form (one message), read with
  ``read_form`` and answered with the number of fields; ``urlencoded-starlette`` the same
  with Starlette's ``request.form()``; ``urlencoded-floor`` a raw ASGI app that reads the body
  and answers the same text without parsing it.
- ``multipart``: ``POST /upload``, one 1 MiB file in a multipart body sent in 64 KiB messages,
  read with ``read_form`` and answered with the file's size; ``multipart-starlette`` and
  ``multipart-floor`` as above. Both spool past 1 MiB (Starlette's ``spool_max_size``, our
  default), so the 1 MiB file stays in memory in both.
- ``json``: the harness's ``json`` scenario (1 KiB echo) written with ``read_json`` and
  ``json_response``; ``json-hand`` the harness's own hand-written handler (``json.loads``,
  ``text_reader``, ``text_writer``), in the same app.
- ``hello`` and ``hello-floor``: hello world, bareASGI and raw ASGI, for the ratio the
  harness reports (the helpers add nothing to a handler that calls none of them).
- memory: peak traced memory (MiB above the start) while a 256 MiB file is uploaded in 64 KiB
  messages (each a new bytes object) and read with ``read_form`` (to a temporary file);
  Starlette's for information.

Targets (issue 16): ``urlencoded`` and ``multipart`` faster than Starlette's (ratio < 1);
``json`` at most 1.05x ``json-hand``; memory flat (within 4 MiB) for the 256 MiB upload.
41 rounds by default. It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    json_response,
    read_form,
    read_json,
    text_writer,
)
from benchmarks.apps import bareasgi_app, raw
from benchmarks.driver import MIB, ASGIApp, Exchange, Lifespan, Message, make_scope, run_batch
from benchmarks.plugins._common import Sampled, paired, parser, rounds_and_batch, spread
from benchmarks.runner import BATCH_TRIES, ON_CPU_SHARE
from benchmarks.scenarios import (
    CHUNK_SIZE,
    HELLO_PATH,
    HELLO_TEXT,
    JSON_PATH,
    JSON_PAYLOAD,
    Request,
)

BOUNDARY: Final = b"----bareasgi-bench-7MA4YWxkTrZu0gW"
FORM_FIELDS: Final = 10
FORM_BODY: Final = "&".join(f"field{i}=value+number+{i}%21" for i in range(FORM_FIELDS)).encode()
UPLOAD_SIZE: Final = MIB
BIG_SIZE: Final = 256 * MIB
MEMORY_LIMIT_MIB: Final = 4.0
SPOOL_MAX_SIZE: Final = MIB
JSON_HAND_PATH: Final = "/echo-hand"
TARGETS: Final = (
    ("urlencoded", "urlencoded-starlette", 1.0, "<"),
    ("multipart", "multipart-starlette", 1.0, "<"),
    ("json", "json-hand", 1.05, "<="),
)
"""(case, baseline, ratio, comparison): issue 16's timed targets."""
BASELINES: Final = {
    "urlencoded": "urlencoded-floor",
    "urlencoded-starlette": "urlencoded-floor",
    "multipart": "multipart-floor",
    "multipart-starlette": "multipart-floor",
    "json": "json-hand",
    "hello": "hello-floor",
}
"""The `x base` column: each case against its floor (JSON against the hand-written one)."""


def _head() -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'content-disposition: form-data; name="file"; filename="data.bin"\r\n'
        b"content-type: application/octet-stream\r\n\r\n"
    )


TAIL: Final = b"\r\n--" + BOUNDARY + b"--\r\n"
MULTIPART_TYPE: Final = b"multipart/form-data; boundary=" + BOUNDARY


def _multipart_chunks(size: int) -> tuple[bytes, ...]:
    """One file of `size` bytes as a multipart body, cut into 64 KiB messages."""
    data = _head() + bytes(range(256)) * (size // 256) + TAIL
    return tuple(data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE))


UPLOAD_CHUNKS: Final = _multipart_chunks(UPLOAD_SIZE)


@dataclass(frozen=True)
class Work:
    """One request of a case: the driver's Request, and the body messages it is sent in."""

    request: Request
    chunks: tuple[bytes, ...]


def _work(
    method: str, path: str, answer: str, chunks: tuple[bytes, ...], content_type: bytes
) -> Work:
    size = sum(map(len, chunks))
    headers = ((b"content-type", content_type), (b"content-length", str(size).encode()))
    request = Request(method, path, 200, len(answer), expect_text=answer, headers=headers)
    return Work(request, chunks)


URLENCODED: Final = _work(
    "POST", "/form", str(FORM_FIELDS), (FORM_BODY,), b"application/x-www-form-urlencoded"
)
MULTIPART: Final = _work("POST", "/upload", str(UPLOAD_SIZE), UPLOAD_CHUNKS, MULTIPART_TYPE)
JSON_HEADERS: Final = ((b"content-type", b"application/json"),)
JSON_HELPERS: Final = Work(
    Request(
        "POST",
        JSON_PATH,
        200,
        None,
        expect_json=JSON_PAYLOAD,
        headers=(*JSON_HEADERS, (b"content-length", str(len(JSON_PAYLOAD)).encode())),
    ),
    (JSON_PAYLOAD,),
)
JSON_HAND: Final = Work(
    Request(
        "POST",
        JSON_HAND_PATH,
        200,
        None,
        expect_json=JSON_PAYLOAD,
        headers=JSON_HELPERS.request.headers,
    ),
    (JSON_PAYLOAD,),
)
HELLO: Final = Work(
    Request("GET", HELLO_PATH, 200, len(HELLO_TEXT), expect_text=HELLO_TEXT), (b"",)
)


class ChunksExchange(Exchange):
    """An exchange that sends the request body as the given messages and keeps the answer."""

    __slots__ = ("_chunks", "body")

    def __init__(self, scope: dict[str, Any], chunks: Sequence[bytes]) -> None:
        super().__init__(scope, b"", len(chunks))
        self._chunks = chunks
        self.body = bytearray()

    async def receive(self) -> Message:
        fed = self._fed
        if fed < self._count:
            self._fed = fed + 1
            return {
                "type": "http.request",
                "body": self._chunks[fed],
                "more_body": fed + 1 < self._count,
            }
        return await super().receive()

    async def send(self, message: Mapping[str, Any]) -> None:
        await super().send(message)
        if message["type"] == "http.response.body":
            self.body += message.get("body", b"")


class BigUploadExchange(Exchange):
    """256 MiB of one file in 64 KiB messages, each a new bytes object (for memory)."""

    __slots__ = ("_source",)

    def __init__(self, scope: dict[str, Any]) -> None:
        super().__init__(scope, b"", BIG_SIZE // CHUNK_SIZE + 2)
        self._source = bytearray(b"m" * CHUNK_SIZE)

    async def receive(self) -> Message:
        fed = self._fed
        if fed < self._count:
            self._fed = fed + 1
            if fed == 0:
                body = _head()
            elif fed == self._count - 1:
                body = TAIL
            else:
                body = bytes(self._source)
            return {"type": "http.request", "body": body, "more_body": fed + 1 < self._count}
        return await super().receive()


# ---- the apps --------------------------------------------------------------------------------


async def form_fields(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    form = await read_form(scope, content)
    return 200, [(b"content-type", b"text/plain")], text_writer(str(len(form.fields)))


async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    form = await read_form(scope, content, spool_max_size=SPOOL_MAX_SIZE)
    size = sum(upload.size for uploads in form.files.values() for upload in uploads)
    return 200, [(b"content-type", b"text/plain")], text_writer(str(size))


async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return json_response(await read_json(scope, content))


def build_bareasgi() -> ASGIApp:
    app = Application(max_body_size=2 * BIG_SIZE)
    router = app.http_router
    router.add({"POST"}, "/form", form_fields)
    router.add({"POST"}, "/upload", upload)
    router.add({"POST"}, JSON_PATH, echo)
    router.add({"POST"}, JSON_HAND_PATH, bareasgi_app.echo)
    router.add({"GET"}, HELLO_PATH, bareasgi_app.hello)
    return app


def build_starlette() -> ASGIApp | None:
    try:
        from starlette.applications import Starlette
        from starlette.formparsers import MultiPartParser
        from starlette.requests import Request as StarletteRequest
        from starlette.responses import PlainTextResponse, Response
        from starlette.routing import Route
    except ImportError:
        return None
    assert MultiPartParser.spool_max_size == SPOOL_MAX_SIZE, "Starlette's spool threshold moved"

    async def starlette_form(request: StarletteRequest) -> Response:
        async with request.form() as form:
            return PlainTextResponse(str(len(form)))

    async def starlette_upload(request: StarletteRequest) -> Response:
        async with request.form(max_part_size=MIB) as form:
            size = sum(
                getattr(value, "size", 0) or 0
                for _, value in form.multi_items()
                if not isinstance(value, str)
            )
            return PlainTextResponse(str(size))

    app: ASGIApp = Starlette(
        routes=[
            Route("/form", starlette_form, methods=["POST"]),
            Route("/upload", starlette_upload, methods=["POST"]),
        ]
    )
    return app


async def floor(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Raw ASGI: read the body (without parsing it) and answer what the others answer."""
    if scope["type"] != "http":
        await raw.build("hello")(scope, receive, send)
        return
    path = scope["path"]
    if path == HELLO_PATH:
        await raw.hello(scope, receive, send)
        return
    size = 0
    more = True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    text = str(FORM_FIELDS) if path == "/form" else str(UPLOAD_SIZE)
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class Case(Sampled):
    key: str
    title: str
    app: str
    work: Work


def cases() -> list[Case]:
    return [
        Case("urlencoded", "10-field urlencoded form, read_form", "bareasgi", URLENCODED),
        Case("urlencoded-starlette", "the same, Starlette request.form()", "starlette", URLENCODED),
        Case("urlencoded-floor", "the same body read by raw ASGI, not parsed", "floor", URLENCODED),
        Case(
            "multipart",
            "1 MiB file, multipart in 64 KiB messages, read_form",
            "bareasgi",
            MULTIPART,
        ),
        Case("multipart-starlette", "the same, Starlette request.form()", "starlette", MULTIPART),
        Case("multipart-floor", "the same body read by raw ASGI, not parsed", "floor", MULTIPART),
        Case("json", "1 KiB JSON echo, read_json + json_response", "bareasgi", JSON_HELPERS),
        Case(
            "json-hand",
            "1 KiB JSON echo, the harness's hand-written handler",
            "bareasgi",
            JSON_HAND,
        ),
        Case("hello", "hello world, bareASGI", "bareasgi", HELLO),
        Case("hello-floor", "hello world, raw ASGI", "floor", HELLO),
    ]


def _exchanges(work: Work, state: Mapping[str, Any], count: int) -> list[ChunksExchange]:
    return [ChunksExchange(make_scope(work.request, state), work.chunks) for _ in range(count)]


def _wrong(work: Work, exchange: ChunksExchange, checked: bool) -> str | None:
    request = work.request
    if not exchange.complete or exchange.status != request.status:
        return (
            f"status {exchange.status}, complete {exchange.complete}: {bytes(exchange.body[:80])!r}"
        )
    if request.size is not None and exchange.size != request.size:
        return f"{exchange.size} bytes, expected {request.size}: {bytes(exchange.body[:80])!r}"
    expected = request.expect_json
    if checked and expected is not None and json.loads(exchange.body) != json.loads(expected):
        return "JSON not echoed"
    return None


async def _timed(case: Case, app: ASGIApp, state: Mapping[str, Any], batch: int) -> None:
    for _ in range(BATCH_TRIES):
        exchanges = _exchanges(case.work, state, batch)
        elapsed, cpu = await run_batch(app, exchanges)
        wrong = next((w for e in exchanges if (w := _wrong(case.work, e, False))), None)
        if wrong is not None:
            case.problem = f"wrong answer while timed: {wrong}"
            return
        if cpu >= elapsed * ON_CPU_SHARE:
            break
    case.samples.append(elapsed / batch / 1000)


def batch_for(case: Case, batch: int) -> int:
    """Fewer requests per batch for the 1 MiB uploads (each costs ~100 times a small one)."""
    return max(20, batch // 40) if case.work is MULTIPART else batch


async def peak_upload_memory(app: ASGIApp, state: Mapping[str, Any]) -> tuple[float, str | None]:
    request = MULTIPART.request
    size = len(_head()) + BIG_SIZE + len(TAIL)
    headers = ((b"content-type", MULTIPART_TYPE), (b"content-length", str(size).encode()))
    scope = make_scope(Request("POST", "/upload", 200, None, headers=headers), state)
    exchange = BigUploadExchange(scope)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        await app(exchange.scope, exchange.receive, exchange.send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    problem = (
        None
        if exchange.complete and exchange.status == request.status
        else (f"status {exchange.status}, complete {exchange.complete}")
    )
    return (peak - base) / MIB, problem


async def run(
    rounds: int, batch: int, progress: bool, memory: bool
) -> tuple[list[Case], dict[str, Any]]:
    all_cases = cases()
    apps: dict[str, ASGIApp | None] = {
        "bareasgi": build_bareasgi(),
        "starlette": build_starlette(),
        "floor": floor,
    }
    lifespans = {name: Lifespan(app) for name, app in apps.items() if app is not None}
    for lifespan in lifespans.values():
        await lifespan.startup()
    memory_results: dict[str, Any] = {}
    try:
        for case in all_cases:
            app = apps[case.app]
            if app is None:
                case.problem = f"{case.app} is not installed"
                continue
            state = lifespans[case.app].state
            exchange = _exchanges(case.work, state, 1)[0]
            await app(exchange.scope, exchange.receive, exchange.send)
            case.problem = _wrong(case.work, exchange, True)
            if case.problem is None:  # warm-up
                await run_batch(app, _exchanges(case.work, state, batch_for(case, batch) // 2 or 1))
        live = [case for case in all_cases if case.problem is None]
        for round_ in range(rounds):
            shift = round_ % max(1, len(live))
            for case in live[shift:] + live[:shift]:
                app = apps[case.app]
                assert app is not None
                await _timed(case, app, lifespans[case.app].state, batch_for(case, batch))
            if progress:
                line = ", ".join(f"{c.key} {c.samples[-1]:.2f}" for c in live if c.samples)
                print(f"  round {round_ + 1}/{rounds}: {line}", file=sys.stderr, flush=True)
        if memory:
            for name in ("bareasgi", "starlette"):
                app = apps[name]
                if app is not None:
                    memory_results[name] = await peak_upload_memory(app, lifespans[name].state)
    finally:
        for lifespan in lifespans.values():
            await lifespan.shutdown()
    return all_cases, memory_results


def report(all_cases: Sequence[Case], memory: Mapping[str, Any]) -> tuple[str, bool]:
    by_key = {case.key: case for case in all_cases}
    lines = [
        "Core's request helpers (issue 16)",
        "",
        f"{'case':<22} {'µs/req':>9}  {'min - max':>17}  {'x base':>7}",
    ]
    for case in all_cases:
        if case.median is None:
            lines.append(f"{case.key:<22} NOT RUN: {case.problem}")
            continue
        base_key = BASELINES.get(case.key)
        ratio = paired(case, by_key[base_key]) if base_key in by_key else None
        shown = f"{ratio:.3f}" if ratio is not None else "-"
        lines.append(
            f"{case.key:<22} {case.median:>9.2f}  {spread(case, 2):>17}  {shown:>7}  {case.title}"
        )
    lines += ["", "targets (paired: the median over rounds of the ratio within each round)"]
    missed = False
    for key, base, limit, comparison in TARGETS:
        ratio = paired(by_key[key], by_key[base])
        if ratio is None:
            lines.append(f"  NOT RUN  {key} / {base} {comparison} {limit}x")
            missed = True
            continue
        met = ratio < limit if comparison == "<" else ratio <= limit
        missed = missed or not met
        verdict = "MET" if met else "MISSED"
        lines.append(
            f"  {verdict:<7}  {key} / {base} = {ratio:.3f}x (target {comparison} {limit}x)"
        )
    if memory:
        lines += [
            "",
            "Peak traced memory uploading 256 MiB (one file, 64 KiB messages), MiB above the start",
        ]
        for name, (peak, problem) in memory.items():
            lines.append(f"  {name:<10} {peak:8.2f}  {problem or ''}")
        ours = memory.get("bareasgi")
        met = ours is not None and ours[1] is None and ours[0] <= MEMORY_LIMIT_MIB
        missed = missed or not met
        verdict = "MET" if met else "MISSED"
        lines.append(
            f"  {verdict:<7}  memory flat (<= {MEMORY_LIMIT_MIB} MiB) while 256 MiB is uploaded"
            " to a temporary file"
        )
    return "\n".join(lines), missed


def main(argv: Sequence[str] | None = None) -> int:
    command = parser("python -m benchmarks.plugins.helpers")
    command.add_argument("--no-memory", action="store_true", help="skip the 256 MiB upload")
    args = command.parse_args(argv)
    rounds, batch = rounds_and_batch(args)
    all_cases, memory = asyncio.run(run(rounds, batch, args.progress, not args.no_memory))
    text, missed = report(all_cases, memory)
    print(text, flush=True)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
