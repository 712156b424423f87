"""The application `test_streaming_servers.py` serves with real hypercorn, uvicorn and granian
(`stream_servers_app:app`, one worker each).

What happens inside the server process is kept in this module (one worker, so one copy) and
read back over HTTP: `/state/{token}` is what a stream with that token did, `/tasks` how many
asyncio tasks the worker's loop holds and how many body iterators are open.

An ASGI wrapper watches `receive()` for `/never/...`: when it returns `http.disconnect` it
notes how many chunks the body had produced so far (`at_disconnect`); the body's `finally`
notes the total. The difference is what was produced after the application learnt of the
disconnect, which core's yield policy bounds (`chunks_between_turns`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Final

from bareasgi import Application, ASGIApp, Content, HttpResponse, Info, Matches, Scope
from bareasgi.types import Message, Receive, Send

NEVER_LIMIT: Final = 5_000_000
"""A never-awaiting stream still ends after this many chunks, whatever happens (so a server
that does not stop it is a failed test, not a hung one). Far more than the socket and server
buffers take before the client goes: granian, whose `send()` buffers a lot, took over 50,000
chunks of 16 bytes before the test's client had closed."""
BLOCK_LIMIT: Final = 30.0
"""A blocked stream gives up waiting after this many seconds (noted as `timed_out`)."""

WATCHED: Final = frozenset({"never", "blocked", "raises"})
"""The paths (first segment) whose `receive()` is watched."""

STATE: Final[dict[str, dict[str, Any]]] = {}
OPEN_ITERATORS: Final = [0]


def _state(token: str) -> dict[str, Any]:
    return STATE.setdefault(
        token,
        {
            "produced": 0,
            "at_disconnect": None,
            "at_mark": None,
            "disconnects": 0,
            "total": None,
            "finally": False,
            "cancelled": False,
            "timed_out": False,
            "raised": False,
            "asgi_done": False,
        },
    )


def _json(data: Any) -> HttpResponse:
    return 200, [(b"content-type", b"application/json")], json.dumps(data).encode()


def note_disconnects(inner: ASGIApp) -> ASGIApp:
    """For `/never/{token}/...`, `/blocked/{token}` and `/raises/{token}`: note the chunks
    produced when `receive()` returns `http.disconnect`, and when the ASGI call returns."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        parts = path.split("/")
        if scope["type"] != "http" or len(parts) < 3 or parts[1] not in WATCHED:
            await inner(scope, receive, send)
            return
        state = _state(parts[2])

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                state["disconnects"] += 1
                if state["at_disconnect"] is None:
                    state["at_disconnect"] = state["produced"]
            return message

        try:
            await inner(scope, watched, send)
        finally:
            state["asgi_done"] = True

    return wrapped


app = Application(asgi_wrappers=[note_disconnects])


@app.on_http_request({"GET"}, "/hello")
async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], b"Hello, World!"


@app.on_http_request({"GET"}, "/state/{token}")
async def state(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json(STATE.get(matches["token"]))


@app.on_http_request({"GET"}, "/mark/{token}")
async def mark(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Note how many chunks the stream `token` has produced: the client is about to go."""
    record = _state(matches["token"])
    record["at_mark"] = record["produced"]
    return _json(record["at_mark"])


@app.on_http_request({"GET"}, "/tasks")
async def tasks(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return _json({"tasks": len(asyncio.all_tasks()), "open_iterators": OPEN_ITERATORS[0]})


@app.on_http_request({"GET"}, "/never/{token}/{size:int}")
async def never(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """Chunks of `size` bytes from memory, never awaiting anything, until stopped."""
    record = _state(matches["token"])
    chunk = b"x" * matches["size"]

    async def body() -> AsyncIterator[bytes]:
        OPEN_ITERATORS[0] += 1
        try:
            while record["produced"] < NEVER_LIMIT:
                record["produced"] += 1
                yield chunk
        finally:
            record["total"] = record["produced"]
            record["finally"] = True
            OPEN_ITERATORS[0] -= 1

    return 200, [(b"content-type", b"application/octet-stream")], body()


@app.on_http_request({"GET"}, "/blocked/{token}")
async def blocked(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """One chunk, then an await that only a disconnect (or BLOCK_LIMIT) ends."""
    record = _state(matches["token"])

    async def body() -> AsyncIterator[bytes]:
        OPEN_ITERATORS[0] += 1
        try:
            record["produced"] += 1
            yield b"first chunk\n"
            try:
                await asyncio.wait_for(asyncio.Event().wait(), BLOCK_LIMIT)
            except TimeoutError:
                record["timed_out"] = True
                raise
            except asyncio.CancelledError:
                record["cancelled"] = True
                raise
            record["produced"] += 1
            yield b"never sent\n"
        finally:
            record["total"] = record["produced"]
            record["finally"] = True
            OPEN_ITERATORS[0] -= 1

    return 200, [(b"content-type", b"text/plain")], body()


@app.on_http_request({"GET"}, "/raises/{token}")
async def raises(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """One chunk, then an exception: the headers are gone, so the connection must end."""
    record = _state(matches["token"])

    async def body() -> AsyncIterator[bytes]:
        OPEN_ITERATORS[0] += 1
        try:
            record["produced"] += 1
            yield b"partial\n"
            await asyncio.sleep(0)
            record["raised"] = True
            raise RuntimeError("the stream broke (on purpose)")
        finally:
            record["total"] = record["produced"]
            record["finally"] = True
            OPEN_ITERATORS[0] -= 1

    return 200, [(b"content-type", b"text/plain")], body()
