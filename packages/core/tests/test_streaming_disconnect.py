"""Streaming after the client has gone, driven by hand as servers behave: once a client is gone,
`send()` returns at once without suspending, and only `receive()` says so.

A body that never awaits must still be stopped: the sender gives the loop a turn every
`chunks_between_turns(size)` chunks (at most `YIELD_CHUNKS`, or 2 MiB), the watcher then
cancels it, the iterator is
closed, and no task is left behind. One watcher task per streamed response, at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from core_helpers import scope_for
from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi import Application, Content, Info, Matches, Scope, text_reader
from bareasgi._http import YIELD_CHUNKS, RequestBody, _stream, chunks_between_turns
from bareasgi.types import Message


class GoneAfter:
    """A server stand-in whose client leaves after `after` body messages were sent."""

    def __init__(self, after: int, body: bytes = b"") -> None:
        self.after = after
        self.sent: list[Message] = []
        self.body_messages = 0
        self.gone = asyncio.Event()
        self.request = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive(self) -> Message:
        if self.request:
            return self.request.pop()
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.gone.is_set():
            return  # as hypercorn and uvicorn do once the client has gone: no suspension
        self.sent.append(message)
        if message["type"] == "http.response.body":
            self.body_messages += 1
            if self.body_messages >= self.after:
                self.gone.set()


def never_awaiting_app(produced: list[int], closed: list[str], chunk: bytes) -> Application:
    app = Application()

    async def endless(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:  # never awaits anything: yields from memory
                    produced[0] += 1
                    yield chunk
            finally:
                closed.append("closed")

        return 200, [(b"content-type", b"application/octet-stream")], body()

    app.http_router.add({"GET"}, "/endless", endless)
    return app


@pytest.mark.parametrize("chunk_size", [16, 64 * 1024, 1024 * 1024])
async def test_a_never_awaiting_body_stops_within_the_yield_bound(chunk_size: int) -> None:
    produced = [0]
    closed: list[str] = []
    app = never_awaiting_app(produced, closed, b"x" * chunk_size)
    server = GoneAfter(after=3)
    before = len(asyncio.all_tasks())
    await asyncio.wait_for(app(scope_for("/endless"), server.receive, server.send), 30)
    assert closed == ["closed"]
    # Chunks produced after the client left: at most one turn's worth of the yield policy.
    bound = chunks_between_turns(chunk_size)
    after = produced[0] - server.after
    assert 0 <= after <= bound + 1, (after, bound)
    assert len(asyncio.all_tasks()) == before  # the watcher is gone too


async def test_the_next_request_is_served_after_a_never_awaiting_body_was_cut() -> None:
    produced = [0]
    closed: list[str] = []
    app = never_awaiting_app(produced, closed, b"y" * 1024)

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"content-type", b"text/plain")], b"hello"

    app.http_router.add({"GET"}, "/hello", hello)
    cut = GoneAfter(after=5)
    await asyncio.wait_for(app(scope_for("/endless"), cut.receive, cut.send), 30)
    fine = GoneAfter(after=10**9)
    await asyncio.wait_for(app(scope_for("/hello"), fine.receive, fine.send), 30)
    assert [m.get("body") for m in fine.sent if m["type"] == "http.response.body"] == [b"hello"]


async def test_one_watcher_task_per_streamed_response() -> None:
    app = Application()
    seen_tasks: list[int] = []

    async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(0)
                seen_tasks.append(len(asyncio.all_tasks()))
                yield b"chunk"

        return 200, [], body()

    app.http_router.add({"GET"}, "/", stream)
    server = GoneAfter(after=10**9)

    async def serve() -> None:
        await app(scope_for("/"), server.receive, server.send)

    before = len(asyncio.all_tasks())
    await asyncio.create_task(serve())
    # While it streamed: the serving task and one watcher beside the test's own tasks.
    assert seen_tasks
    assert all(count == before + 2 for count in seen_tasks), (before, seen_tasks)
    assert len(asyncio.all_tasks()) == before
    assert server.sent[-1] == {"type": "http.response.body", "body": b""}


async def test_a_response_body_may_read_the_request_body_while_it_streams() -> None:
    """The echo: the watcher passes the body messages on to the reader."""
    app = Application()

    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            yield b"you said: "
            yield (await text_reader(content)).encode()

        return 200, [], body()

    app.http_router.add({"POST"}, "/echo", echo)
    server = GoneAfter(after=10**9, body=b"hello there")
    scope = scope_for("/echo", "POST", b"hello there")
    await asyncio.wait_for(app(scope, server.receive, server.send), 30)
    chunks = [m["body"] for m in server.sent if m["type"] == "http.response.body"]
    assert b"".join(chunks) == b"you said: hello there"


async def test_the_server_cancelling_the_response_is_not_swallowed() -> None:
    """Only the watcher's cancellation means "the client left"; a server's passes on."""
    app = Application()
    started = asyncio.Event()

    async def slow(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            yield b"first"
            started.set()
            await asyncio.Event().wait()
            yield b"never"

        return 200, [], body()

    app.http_router.add({"GET"}, "/", slow)
    server = GoneAfter(after=10**9)
    task = asyncio.create_task(app(scope_for("/"), server.receive, server.send))
    await started.wait()
    before_cancel = len(asyncio.all_tasks())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(asyncio.all_tasks()) == before_cancel - 2  # the app's task and its watcher


async def test_cleanups_run_once_however_the_response_ends() -> None:
    app = Application()
    ran: list[str] = []

    async def with_cleanup(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def async_cleanup() -> None:
            ran.append(f"async {scope['path']}")

        content.add_cleanup(lambda: ran.append(f"sync {scope['path']}"))  # type: ignore[attr-defined]
        content.add_cleanup(async_cleanup)  # type: ignore[attr-defined]
        if scope["path"] == "/fails":
            raise RuntimeError("boom")
        if scope["path"] == "/streams":

            async def body() -> AsyncIterator[bytes]:
                while True:
                    yield b"z"

            return 200, [], body()
        return 200, [(b"content-type", b"text/plain")], b"ok"

    for path in ("/ok", "/fails", "/streams"):
        app.http_router.add({"GET"}, path, with_cleanup)
    for path in ("/ok", "/ok", "/fails", "/streams"):
        server = GoneAfter(after=4)
        await asyncio.wait_for(app(scope_for(path), server.receive, server.send), 30)
    assert ran == [
        "sync /ok",
        "async /ok",
        "sync /ok",
        "async /ok",
        "sync /fails",
        "async /fails",
        "sync /streams",
        "async /streams",
    ]


# ---- the lazy watcher (the fast path) sends what the eager one (the general path) sends ----


@st.composite
def bodies(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A body as a script: each step yields a chunk, awaits first, or raises."""
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("chunk"), st.binary(max_size=8)),
                st.tuples(st.just("await"), st.binary(min_size=1, max_size=8)),
                st.tuples(st.just("future"), st.binary(max_size=8)),
                st.tuples(st.just("bytearray"), st.binary(min_size=1, max_size=8)),
                st.tuples(st.just("text"), st.just("text")),
                st.tuples(st.just("raise"), st.just(None)),
            ),
            max_size=40,
        )
    )
    return steps


class ScriptedBody:
    """An async iterator (no generator) following a script; records its close."""

    def __init__(self, steps: list[tuple[str, Any]], closed: list[str]) -> None:
        self.steps = list(steps)
        self.closed = closed

    def __aiter__(self) -> ScriptedBody:
        return self

    def __anext__(self) -> Any:
        if not self.steps:
            return self._end()
        kind, value = self.steps.pop(0)
        if kind == "future":
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(future.set_result, value)
            return future
        return self._step(kind, value)

    async def _end(self) -> bytes:
        raise StopAsyncIteration

    async def _step(self, kind: str, value: Any) -> Any:
        if kind == "await":
            await asyncio.sleep(0)
        if kind == "raise":
            raise RuntimeError("the body failed")
        if kind == "bytearray":
            return bytearray(value)
        return value

    async def aclose(self) -> None:
        self.closed.append("closed")


async def _scripted_generator(
    steps: list[tuple[str, Any]], closed: list[str]
) -> AsyncIterator[Any]:
    try:
        for kind, value in steps:
            if kind in ("await", "future"):
                await asyncio.sleep(0)
            if kind == "raise":
                raise RuntimeError("the body failed")
            yield bytearray(value) if kind == "bytearray" else value
    finally:
        closed.append("closed")


async def _run_stream(steps: list[tuple[str, Any]], lazy: bool, generator: bool) -> Any:
    server = GoneAfter(after=10**9)
    scope = scope_for("/")
    content = RequestBody(scope, server.receive, 1024)
    closed: list[str] = []
    body = _scripted_generator(steps, closed) if generator else ScriptedBody(steps, closed)
    before = len(asyncio.all_tasks())
    await _stream(scope, content, server.send, 200, [], body, None, lazy=lazy)
    await asyncio.sleep(0)  # a cancelled watcher ends at the loop's next turn
    return server.sent, closed, len(asyncio.all_tasks()) - before


@settings(max_examples=150, deadline=None)
@given(steps=bodies(), generator=st.booleans())
def test_the_lazy_watcher_sends_what_the_eager_watcher_sends(
    steps: list[tuple[str, Any]], generator: bool
) -> None:
    lazy = asyncio.run(_run_stream(steps, True, generator))
    eager = asyncio.run(_run_stream(steps, False, generator))
    assert lazy == eager
    assert lazy[1] == ["closed"]
    assert lazy[2] == 0  # no task left behind


async def test_a_short_body_that_never_blocks_starts_no_watcher() -> None:
    """The fast path: proven to run by the task count while it streams."""
    seen: list[int] = []
    server = GoneAfter(after=10**9)
    scope = scope_for("/")
    content = RequestBody(scope, server.receive, 1024)
    before = len(asyncio.all_tasks())

    async def body() -> AsyncIterator[bytes]:
        for _ in range(YIELD_CHUNKS):
            seen.append(len(asyncio.all_tasks()))
            yield b"x"

    await _stream(scope, content, server.send, 200, [], body(), None)
    assert seen == [before] * YIELD_CHUNKS
    assert not content.disconnected


async def test_a_body_that_only_yields_to_the_loop_is_stopped_too() -> None:
    """Cancelled at a bare yield (`sleep(0)`), where no future carries the cancellation: the
    pump must throw it into the body, as `yield from` would."""
    closed: list[str] = []
    app = Application()

    async def busy(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    await asyncio.sleep(0)
                    yield b"tick"
            finally:
                closed.append("closed")

        return 200, [], body()

    app.http_router.add({"GET"}, "/", busy)
    server = GoneAfter(after=3)
    await asyncio.wait_for(app(scope_for("/"), server.receive, server.send), 30)
    assert closed == ["closed"]


async def test_one_turn_starts_the_watchers_of_every_stream_waiting_for_it() -> None:
    """Streams that reach the loop's turn together share one callback: each gets its own
    watcher, each stops when its own client leaves, and nothing waits for a turn afterwards."""
    from bareasgi._http import _NEXT_TURN

    closed: list[int] = []
    released = asyncio.Event()

    def blocked_body(n: int) -> AsyncIterator[bytes]:
        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                await released.wait()  # blocks: the loop turns, the watchers start
                yield b"never sent"
            finally:
                closed.append(n)

        return body()

    servers = [GoneAfter(after=10**9) for _ in range(3)]
    before = len(asyncio.all_tasks())
    calls = [
        asyncio.create_task(
            _stream(
                scope_for("/"),
                RequestBody(scope_for("/"), server.receive, 1024),
                server.send,
                200,
                [],
                blocked_body(n),
                None,
            )
        )
        for n, server in enumerate(servers)
    ]
    while sum(server.body_messages for server in servers) < 3:
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before + 6  # three streams, three watchers
    for server in servers:
        server.gone.set()
    await asyncio.wait_for(asyncio.gather(*calls), 30)
    await asyncio.sleep(0)
    assert sorted(closed) == [0, 1, 2]
    assert len(asyncio.all_tasks()) == before
    assert asyncio.get_running_loop() not in _NEXT_TURN
