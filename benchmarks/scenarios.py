"""What every app serves and what every request asks: shared by the apps and the driver.

An app module builds one application per *app kind* (``hello``, ``params``, ...). A scenario
names the kind of app it runs against and the requests it sends; the 404 scenario, for
instance, sends unknown paths to the hello-world app.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, Literal

AppKind = Literal[
    "hello",
    "params",
    "json",
    "routes",
    "middleware",
    "stream",
    "stream_chunked",
    "upload",
    "events",
    "ws_echo",
    "stream_out",
    "read_in",
]

# -- hello world ----------------------------------------------------------------------------
HELLO_PATH: Final = "/hello-world"
HELLO_TEXT: Final = "Hello, World!"

# -- two typed parameters ----------------------------------------------------------------------
# Route template: /users/{id:int}/posts/{slug}. Apps answer PARAMS_FORMAT.format(id=..., slug=...)
# with `{id:d}`, which raises for a value that was not converted to int.
PARAMS_FORMAT: Final = "post {slug} by user {id:d}"

# -- 1 KiB JSON echo -------------------------------------------------------------------------
JSON_PATH: Final = "/echo"

# -- 1,000 routes -----------------------------------------------------------------------------
ROUTE_COUNT: Final = 1000
# Route i is /route{i}/{id:int}; it answers ROUTE_FORMAT.format(route=i, id=...).
ROUTE_FORMAT: Final = "route {route} item {id:d}"

# -- middleware -------------------------------------------------------------------------------
MIDDLEWARE_COUNT: Final = 5

# -- streaming --------------------------------------------------------------------------------
STREAM_PATH: Final = "/stream"
CHUNK_SIZE: Final = 64 * 1024
STREAM_SIZE: Final = 1024 * 1024
STREAM_BUFFER: Final = bytes(range(256)) * (STREAM_SIZE // 256)
"""The 1 MiB body every app slices into 64 KiB chunks as it streams it (``stream_chunked``)."""
STREAM_CHUNKS: Final = tuple(
    STREAM_BUFFER[i : i + CHUNK_SIZE] for i in range(0, STREAM_SIZE, CHUNK_SIZE)
)
"""The same 1 MiB as 16 ready-made 64 KiB chunks, which every app's async generator yields
(``stream``): nothing is copied per request, so the times are the frameworks' own cost of
streaming, not a memcpy that every app pays alike."""
STREAM_CHUNKED_PATH: Final = "/stream-chunked"

# -- upload: 1 MiB in 16 request messages of 64 KiB ---------------------------------------------
UPLOAD_SIZE: Final = 1024 * 1024
UPLOAD_CHUNK: Final = bytes(range(256)) * (CHUNK_SIZE // 256)
UPLOAD_CHUNKS: Final = UPLOAD_SIZE // CHUNK_SIZE

# -- server-sent events: 100 events of 50 bytes, one per chunk -----------------------------------
EVENTS_PATH: Final = "/events"
EVENT_COUNT: Final = 100
EVENT_SIZE: Final = 50


def _event(i: int) -> bytes:
    head = f"event: tick\nid: {i:03d}\ndata: tick {i:03d} "
    data = (head + "x" * (EVENT_SIZE - len(head) - 2) + "\n\n").encode()
    assert len(data) == EVENT_SIZE, len(data)
    return data


EVENTS: Final = tuple(_event(i) for i in range(EVENT_COUNT))
"""The events every app yields, one per chunk, from an async generator."""

# -- WebSocket echo: 100 text messages, each echoed before the next is sent ----------------------
WS_PATH: Final = "/ws"
WS_MESSAGE_COUNT: Final = 100
WS_MESSAGES: Final = tuple(
    f"message {i:03d} " + "abcdefghijklmnopqrst" for i in range(WS_MESSAGE_COUNT)
)
"""What the client sends (32 characters each); a correct app echoes each as text."""

# -- memory: 256 MiB out and in ------------------------------------------------------------------
BIG_PATH: Final = "/big"
UPLOAD_PATH: Final = "/upload"
BIG_SIZE: Final = 256 * 1024 * 1024
BIG_CHUNKS: Final = BIG_SIZE // CHUNK_SIZE
BIG_CHUNK: Final = b"x" * CHUNK_SIZE
"""One buffer, yielded (out) or fed (in) BIG_CHUNKS times."""

# -- distinct paths ----------------------------------------------------------------------------
DISTINCT_PATHS: Final = 2000
"""Parameterised scenarios cycle through this many paths, so a per-path cache (BlackSheep keeps
an LRU of 1,200 matches) cannot stand in for routing."""


def _json_payload() -> bytes:
    """A ~1 KiB JSON document of mixed types, compactly encoded."""
    items = [
        {
            "id": i,
            "name": f"item-{i}",
            "price": round(9.99 + i * 1.25, 2),
            "tags": ["alpha", "beta"],
            "active": i % 2 == 0,
        }
        for i in range(11)
    ]
    doc = {"order": 1234, "customer": "Michael Caine", "items": items, "note": None}
    data = json.dumps(doc, separators=(",", ":")).encode()
    # Pad the note to exactly 1 KiB so the size is a round figure.
    doc["note"] = "n" * (1024 - len(data) + 2)  # "null" becomes a quoted string
    data = json.dumps(doc, separators=(",", ":")).encode()
    assert len(data) == 1024, len(data)
    return data


JSON_PAYLOAD: Final = _json_payload()


@dataclass(frozen=True, slots=True)
class Request:
    """One request the driver sends, and the answer a correct app gives."""

    method: str
    path: str
    status: int
    """The status every app must answer."""
    size: int | None
    """The body size every app must answer, or None where apps may differ (JSON, 404 text)."""
    body: bytes = b""
    expect_text: str | None = None
    """Checked once per scenario and app (the driver keeps no bodies while timing)."""
    expect_json: bytes | None = None
    """The body must parse to the same JSON value as this document."""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body_chunks: int = 1
    """How many times ``body`` is fed (the 256 MiB upload feeds one 64 KiB buffer 4,096 times)."""
    expect_body: bytes | None = None
    """The exact body (checked once per scenario and app, like ``expect_text``)."""
    ws_messages: tuple[str, ...] = ()
    """For a WebSocket connection: the text messages sent, each after the last one's echo.
    ``status`` is then 101 (accepted) and ``size`` the characters echoed in all."""

    @property
    def websocket(self) -> bool:
        return bool(self.ws_messages)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    kind: AppKind
    requests: tuple[Request, ...]
    notes: str = ""
    timed: bool = True
    """False for the memory cases, which are measured once rather than timed."""


def _text(method: str, path: str, text: str, status: int = 200) -> Request:
    data = text.encode()
    return Request(method, path, status, len(data), expect_text=text)


def _hello() -> Scenario:
    return Scenario(
        "hello",
        "hello world: GET /hello-world -> 200 text/plain 'Hello, World!'",
        "hello",
        (_text("GET", HELLO_PATH, HELLO_TEXT),),
    )


def _params() -> Scenario:
    requests = []
    for i in range(DISTINCT_PATHS):
        user_id = 1 + i * 7919 % 1_000_003
        slug = f"post-{i:04d}-about-things"
        path = f"/users/{user_id}/posts/{slug}"
        requests.append(_text("GET", path, PARAMS_FORMAT.format(id=user_id, slug=slug)))
    return Scenario(
        "params",
        "two typed parameters: GET /users/{id:int}/posts/{slug}",
        "params",
        tuple(requests),
        notes=f"{DISTINCT_PATHS} distinct paths",
    )


def _json() -> Scenario:
    request = Request(
        "POST",
        JSON_PATH,
        200,
        None,
        body=JSON_PAYLOAD,
        expect_json=JSON_PAYLOAD,
        headers=(
            (b"content-type", b"application/json"),
            (b"content-length", str(len(JSON_PAYLOAD)).encode()),
        ),
    )
    return Scenario(
        "json", "1 KiB JSON echo: POST /echo, parse, answer as JSON", "json", (request,)
    )


def _routes() -> Scenario:
    last = ROUTE_COUNT - 1
    requests = tuple(
        _text("GET", f"/route{last}/{item}", ROUTE_FORMAT.format(route=last, id=item))
        for item in range(10_000, 10_000 + DISTINCT_PATHS)
    )
    return Scenario(
        "routes",
        f"{ROUTE_COUNT:,} routes, hitting the last: GET /route{last}/{{id:int}}",
        "routes",
        requests,
        notes=f"routes /route{{i}}/{{id:int}}, {DISTINCT_PATHS} distinct ids",
    )


def _middleware() -> Scenario:
    return Scenario(
        "middleware",
        f"{MIDDLEWARE_COUNT} pass-through middlewares around hello world",
        "middleware",
        (_text("GET", HELLO_PATH, HELLO_TEXT),),
    )


def _stream() -> Scenario:
    request = Request("GET", STREAM_PATH, 200, STREAM_SIZE, expect_body=STREAM_BUFFER)
    return Scenario(
        "stream",
        "1 MiB from an async generator, 16 chunks of 64 KiB: GET /stream",
        "stream",
        (request,),
        notes="issue 13's S6",
    )


def _stream_chunked() -> Scenario:
    request = Request("GET", STREAM_CHUNKED_PATH, 200, STREAM_SIZE, expect_body=STREAM_BUFFER)
    return Scenario(
        "stream_chunked",
        "1 MiB in 64 KiB chunks, bareASGI's bytes_writer: GET /stream-chunked",
        "stream_chunked",
        (request,),
        notes="bareASGI bytes_writer(buf, chunk_size=65536); the peers as in stream",
    )


def _upload() -> Scenario:
    text = str(UPLOAD_SIZE)
    request = Request(
        "POST",
        UPLOAD_PATH,
        200,
        len(text),
        body=UPLOAD_CHUNK,
        body_chunks=UPLOAD_CHUNKS,
        expect_text=text,
        headers=(
            (b"content-type", b"application/octet-stream"),
            (b"content-length", text.encode()),
        ),
    )
    return Scenario(
        "upload",
        "1 MiB request body in 16 messages of 64 KiB, read with async for, answered with its "
        "length: POST /upload",
        "upload",
        (request,),
        notes="issue 13's S8",
    )


def _events() -> Scenario:
    body = b"".join(EVENTS)
    request = Request("GET", EVENTS_PATH, 200, len(body), expect_body=body)
    return Scenario(
        "events",
        f"{EVENT_COUNT} server-sent events of {EVENT_SIZE} bytes, one per chunk, from an async "
        "generator: GET /events",
        "events",
        (request,),
        notes="issue 13's S9; text/event-stream",
    )


def _ws_echo() -> Scenario:
    request = Request(
        "GET", WS_PATH, 101, sum(len(m) for m in WS_MESSAGES), ws_messages=WS_MESSAGES
    )
    return Scenario(
        "ws_echo",
        f"WebSocket /ws: connect, accept, {WS_MESSAGE_COUNT} text messages each echoed before "
        "the next is sent, client close (1000)",
        "ws_echo",
        (request,),
        notes="issue 13's S10; times are per connection",
    )


def _not_found() -> Scenario:
    requests = tuple(Request("GET", f"/missing/{i}", 404, None) for i in range(DISTINCT_PATHS))
    return Scenario(
        "not_found",
        "404: GET /missing/{n} against the hello-world app",
        "hello",
        requests,
        notes=f"{DISTINCT_PATHS} distinct paths",
    )


def _stream_out() -> Scenario:
    request = Request("GET", BIG_PATH, 200, BIG_SIZE)
    return Scenario(
        "stream_out",
        "256 MiB streamed out in 64 KiB chunks from one reused buffer",
        "stream_out",
        (request,),
        timed=False,
    )


def _read_in() -> Scenario:
    text = str(BIG_SIZE)
    request = Request(
        "POST",
        UPLOAD_PATH,
        200,
        len(text),
        body=BIG_CHUNK,
        body_chunks=BIG_CHUNKS,
        expect_text=text,
        headers=((b"content-type", b"application/octet-stream"),),
    )
    return Scenario(
        "read_in",
        "256 MiB read in, 64 KiB per message, iterated without keeping it",
        "read_in",
        (request,),
        timed=False,
    )


TIMED: Final = (
    _hello(),
    _params(),
    _json(),
    _routes(),
    _middleware(),
    _stream(),
    _not_found(),
    _stream_chunked(),
    _upload(),
    _events(),
    _ws_echo(),
)
MEMORY: Final = (_stream_out(), _read_in())
BY_NAME: Final = {s.name: s for s in TIMED + MEMORY}
