"""In-process: a client that leaves closes the streamed body at once, and nothing more is sent.

The test client's own safety net (it cancels an app that outlives its client) must not be what
closes the body, so one test drives the ASGI app by hand and the other gives the test client a
`disconnect_timeout` far beyond the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope
from bareasgi.testing import TestClient
from bareasgi.types import Message

TEXT = [(b"content-type", b"text/plain")]
GUARD = 30.0  # seconds: only bounds a hang, a passing run never comes near it


class Stream:
    """A body that sends one chunk, then waits on its source; records its life."""

    def __init__(self) -> None:
        self.source = asyncio.Event()
        self.closed = asyncio.Event()
        self.yielded: list[bytes] = []

    async def body(self) -> AsyncIterator[bytes]:
        try:
            self.yielded.append(b"first\n")
            yield b"first\n"
            await self.source.wait()  # blocked on its source when the client leaves
            self.yielded.append(b"late\n")
            yield b"late\n"
        finally:
            self.closed.set()

    def app(self) -> Application:
        async def handler(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            return 200, TEXT, self.body()

        app = Application()
        app.http_router.add({"GET"}, "/stream", handler)
        return app


def http_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "path": "/stream",
        "raw_path": b"/stream",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "extensions": {},
    }


async def test_disconnect_closes_a_blocked_body_driven_by_hand() -> None:
    stream = Stream()
    app = stream.app()
    sent: list[Message] = []
    first_chunk = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()  # the client leaves once it has the first chunk
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("body"):
            first_chunk.set()

    call = asyncio.ensure_future(app(http_scope(), receive, send))
    try:
        await asyncio.wait_for(stream.closed.wait(), GUARD)  # the body's `finally` ran
        stream.source.set()  # its source wakes: a body still pumped would now send more
        await asyncio.wait_for(asyncio.shield(call), GUARD)  # the app returns by itself
    finally:
        call.cancel()
    assert call.exception() is None
    assert stream.yielded == [b"first\n"]
    assert [(m["type"], m.get("body"), m.get("more_body")) for m in sent] == [
        ("http.response.start", None, None),
        ("http.response.body", b"first\n", True),
    ]


async def test_disconnect_closes_a_blocked_body_through_the_test_client() -> None:
    stream = Stream()

    async def read_first_chunk_and_leave(client: TestClient) -> None:
        async with client.stream("GET", "/stream") as response:
            async for chunk in response.aiter_raw():
                assert chunk == b"first\n"
                break  # leaving the block is the client's disconnect

    # The client waits up to `disconnect_timeout` for the app when it leaves, then cancels
    # it; so it leaves in a task of its own, and the body must close long before that.
    async with TestClient(stream.app(), disconnect_timeout=10 * GUARD) as client:
        leaving = asyncio.ensure_future(read_first_chunk_and_leave(client))
        try:
            await asyncio.wait_for(stream.closed.wait(), GUARD)
            stream.source.set()
            await asyncio.wait_for(asyncio.shield(leaving), GUARD)
            await client.wait_for_app_tasks(GUARD)
        finally:
            leaving.cancel()
    assert stream.yielded == [b"first\n"]
