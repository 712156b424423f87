"""No handler outlives its reason: the request time limit, cancelling on a disconnect, a whole
body's content-length checked, and a client leaving mid-read logged at debug.

Driven by hand as servers behave (`receive()` reports the disconnect, `send()` then returns at
once), and against a real hypercorn for the hung-handler case. Counts and events, never
durations: the limits here are short so that the tests are, not so that they are measured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from core_helpers import scope_for

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    bytes_writer,
    final_status,
    text_writer,
)
from bareasgi.types import Message

TEXT = (b"content-type", b"text/plain")


class Server:
    """A server stand-in: the request arrives whole; the client leaves when `leave()` is
    called (then `receive()` reports it and `send()` returns at once, as servers do)."""

    def __init__(self, body: bytes = b"", more: bool = False) -> None:
        self.sent: list[Message] = []
        self.gone = asyncio.Event()
        self.request: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]

    def leave(self) -> None:
        self.gone.set()

    async def receive(self) -> Message:
        if self.request:
            return self.request.pop()
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if not self.gone.is_set():
            self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def complete(self) -> bool:
        return any(
            m["type"] == "http.response.body" and not m.get("more_body", False) for m in self.sent
        )


async def started(app: Application) -> Application:
    app.start()
    return app


def hanging_app(events: list[str], **options: Any) -> Application:
    app = Application(**options.pop("app", {}))

    async def hang(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        events.append("start")
        try:
            await asyncio.Event().wait()
        finally:
            events.append("finally")
        return 200  # pragma: no cover - never reached

    app.http_router.add({"GET"}, "/hang", hang, **options)
    return app


# ---- the request time limit ---------------------------------------------------------------


async def test_a_handler_past_its_routes_time_limit_is_cancelled_and_answered_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    app = await started(hanging_app(events, timeout=0.05))
    server = Server()
    before = len(asyncio.all_tasks())
    with caplog.at_level(logging.WARNING, logger="bareasgi"):
        await asyncio.wait_for(app(scope_for("/hang"), server.receive, server.send), 30)
    assert events == ["start", "finally"]
    assert server.status == 503
    assert server.complete
    assert b"took too long" in server.body
    assert len(asyncio.all_tasks()) == before
    [record] = [r for r in caplog.records if "time limit" in r.getMessage()]
    assert "'/hang'" in record.getMessage()
    assert "0.05s" in record.getMessage()


async def test_the_applications_time_limit_holds_for_routes_that_set_none() -> None:
    events: list[str] = []
    app = await started(hanging_app(events, app={"timeout": 0.05}))
    server = Server()
    await asyncio.wait_for(app(scope_for("/hang"), server.receive, server.send), 30)
    assert server.status == 503
    assert events == ["start", "finally"]


async def test_a_routes_time_limit_takes_the_place_of_the_applications() -> None:
    app = Application(timeout=0.01)
    answered: list[str] = []

    async def slow(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        await asyncio.sleep(0.1)  # over the application's limit, within the route's
        answered.append("yes")
        return 200, [TEXT], text_writer("done")

    app.http_router.add({"GET"}, "/slow", slow, timeout=30)
    app.start()
    server = Server()
    await asyncio.wait_for(app(scope_for("/slow"), server.receive, server.send), 30)
    assert (server.status, server.body, answered) == (200, b"done", ["yes"])


async def test_a_handler_that_swallows_its_cancellation_is_still_answered_503() -> None:
    app = Application()
    after: list[str] = []

    async def stubborn(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            after.append("swallowed")
        return 200, [TEXT], text_writer("too late")

    app.http_router.add({"GET"}, "/stubborn", stubborn, timeout=0.05)
    app.start()
    server = Server()
    await asyncio.wait_for(app(scope_for("/stubborn"), server.receive, server.send), 30)
    assert after == ["swallowed"]
    assert server.status == 503


async def test_a_stream_past_its_time_limit_is_cut_off_and_its_body_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application()
    closed: list[str] = []
    produced = [0]

    async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    produced[0] += 1
                    yield b"tick\n"
                    await asyncio.sleep(0.01)
            finally:
                closed.append("closed")

        return 200, [TEXT], body()

    app.http_router.add({"GET"}, "/stream", stream, timeout=0.1)
    app.start()
    server = Server()
    before = len(asyncio.all_tasks())
    with caplog.at_level(logging.WARNING, logger="bareasgi"):
        await asyncio.wait_for(app(scope_for("/stream"), server.receive, server.send), 30)
    assert server.status == 200
    assert produced[0] >= 1
    assert not server.complete  # cut off: the connection ends without the last message
    assert closed == ["closed"]
    await asyncio.sleep(0)  # a cancelled watcher ends at the loop's next turn
    assert len(asyncio.all_tasks()) == before
    assert any("streamed: cut off" in r.getMessage() for r in caplog.records)


async def test_a_whole_body_answered_in_time_is_sent_and_the_timer_is_gone() -> None:
    app = Application(timeout=30)

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [TEXT], text_writer("hi")

    app.http_router.add({"GET"}, "/", hello)
    app.start()
    loop = asyncio.get_running_loop()
    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    server = Server()
    await app(scope_for("/"), server.receive, server.send)
    assert (server.status, server.body) == (200, b"hi")
    # The cancelled timer is marked, not removed at once: none is left live.
    live = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    assert len(live) <= timers_before


# ---- cancel on disconnect -------------------------------------------------------------------


async def test_a_handler_whose_client_leaves_is_cancelled_when_the_route_asks() -> None:
    events: list[str] = []
    app = await started(hanging_app(events, cancel_on_disconnect=True))
    server = Server()
    before = len(asyncio.all_tasks())
    call = asyncio.create_task(app(scope_for("/hang"), server.receive, server.send))
    while events != ["start"]:
        await asyncio.sleep(0)
    server.leave()
    await asyncio.wait_for(call, 30)
    assert events == ["start", "finally"]
    assert server.sent == []  # nothing was sent to a client that has gone
    assert len(asyncio.all_tasks()) == before


async def test_the_application_can_cancel_on_disconnect_for_every_route() -> None:
    events: list[str] = []
    app = await started(hanging_app(events, app={"cancel_on_disconnect": True}))
    server = Server()
    call = asyncio.create_task(app(scope_for("/hang"), server.receive, server.send))
    while events != ["start"]:
        await asyncio.sleep(0)
    server.leave()
    await asyncio.wait_for(call, 30)
    assert events == ["start", "finally"]


async def test_a_route_can_refuse_the_applications_cancel_on_disconnect() -> None:
    app = Application(cancel_on_disconnect=True)

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [TEXT], text_writer("hi")

    route = app.http_router.add({"GET"}, "/", hello, cancel_on_disconnect=False)
    app.start()
    assert route.call is hello  # nothing around it: it pays nothing


def test_by_default_a_route_is_called_as_it_is() -> None:
    """Neither limit is on by default: the hello world pays for neither."""
    app = Application()

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [TEXT], text_writer("hi")

    route = app.http_router.add({"GET"}, "/", hello)
    app.start()
    assert route.call is hello


async def test_a_watched_handler_still_reads_its_body_and_streams_its_answer() -> None:
    app = Application(cancel_on_disconnect=True)

    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        data = b"".join([chunk async for chunk in content])

        async def body() -> AsyncIterator[bytes]:
            yield data
            yield data

        return 200, [TEXT], body()

    app.http_router.add({"POST"}, "/echo", echo)
    app.start()
    server = Server(body=b"abc")
    before = len(asyncio.all_tasks())
    await asyncio.wait_for(app(scope_for("/echo", "POST", b"abc"), server.receive, server.send), 30)
    assert (server.status, server.body, server.complete) == (200, b"abcabc", True)
    await asyncio.sleep(0)  # a cancelled watcher ends at the loop's next turn
    assert len(asyncio.all_tasks()) == before


async def test_a_watched_handlers_stream_stops_when_the_client_leaves() -> None:
    app = Application(cancel_on_disconnect=True)
    closed: list[str] = []

    async def stream(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                await asyncio.Event().wait()
            finally:
                closed.append("closed")

        return 200, [TEXT], body()

    app.http_router.add({"GET"}, "/stream", stream)
    app.start()
    server = Server()
    call = asyncio.create_task(app(scope_for("/stream"), server.receive, server.send))
    while server.body != b"first":
        await asyncio.sleep(0)
    server.leave()
    await asyncio.wait_for(call, 30)
    assert closed == ["closed"]


def test_route_options_are_checked() -> None:
    app = Application()

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 204

    with pytest.raises(TypeError, match="cancel_on_disconnect must be a bool"):
        app.http_router.add({"GET"}, "/", hello, cancel_on_disconnect=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        Application(timeout=0)
    with pytest.raises(TypeError, match="cancel_on_disconnect must be a bool"):
        Application(cancel_on_disconnect="yes")  # type: ignore[arg-type]


# ---- a whole body's content-length ----------------------------------------------------------


async def test_a_wrong_content_length_for_a_whole_body_is_a_500_naming_the_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application()

    async def liar(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [TEXT, (b"content-length", b"100")], b"hello"

    app.http_router.add({"GET", "POST"}, "/liar", liar)
    app.start()
    server = Server()
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        await app(scope_for("/liar"), server.receive, server.send)
    assert server.status == 500
    [record] = [r for r in caplog.records if "content-length" in r.getMessage()]
    assert "liar" in record.getMessage()
    assert "5 bytes" in record.getMessage()
    # HEAD carries the length of the body it does not send.
    server = Server()
    await app(scope_for("/liar", "HEAD"), server.receive, server.send)
    assert (server.status, server.body) == (200, b"")
    assert (b"content-length", b"100") in server.sent[0]["headers"]


@pytest.mark.parametrize(
    ("status", "headers", "body", "method", "answered"),
    [
        (200, [(b"content-length", b"5")], b"hello", "GET", 200),
        (200, [(b"content-length", b"+5")], b"hello", "GET", 500),
        (200, [(b"content-length", b"5"), (b"content-length", b"6")], b"hello", "GET", 500),
        (204, [(b"content-length", b"10")], None, "GET", 204),
        (304, [(b"content-length", b"1234")], None, "GET", 304),
        (200, [(b"content-length", b"10")], b"", "HEAD", 200),
        (200, [(b"content-length", b"3")], b"", "GET", 500),
    ],
)
async def test_content_length_rule(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes | None, method: str, answered: int
) -> None:
    app = Application()

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return status, headers, body

    app.http_router.add({"GET", "HEAD"}, "/", handler)
    app.start()
    server = Server()
    await app(scope_for("/", method), server.receive, server.send)
    assert server.status == answered
    assert final_status((status, headers, body), method) == answered


async def test_a_chunked_writer_with_a_wrong_content_length_is_refused() -> None:
    app = Application()

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"content-length", b"7")], bytes_writer(b"x" * 10, chunk_size=3)

    app.http_router.add({"GET"}, "/", handler)
    app.start()
    server = Server()
    await app(scope_for("/"), server.receive, server.send)
    assert server.status == 500


# ---- a client leaving while the answer reads the request body ----------------------------


async def test_a_client_leaving_while_the_stream_reads_the_request_is_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application()

    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        async def body() -> AsyncIterator[bytes]:
            async for chunk in content:
                yield chunk

        return 200, [TEXT], body()

    app.http_router.add({"POST"}, "/echo", echo)
    app.start()
    server = Server(body=b"part", more=True)  # more to come, but the client leaves
    with caplog.at_level(logging.DEBUG, logger="bareasgi"):
        call = asyncio.create_task(
            app(scope_for("/echo", "POST", b"partpart"), server.receive, server.send)
        )
        while server.body != b"part":
            await asyncio.sleep(0)
        server.leave()
        await asyncio.wait_for(call, 30)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(r.levelno == logging.DEBUG and "went away" in r.getMessage() for r in caplog.records)


# ---- against a real server ------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_hung_handlers_of_clients_that_left_are_cancelled_under_hypercorn(tmp_path: Any) -> None:
    """Fifty clients leave fifty hung handlers: each is cancelled (its `finally` ran), and the
    next request is answered."""
    from bareasgi.testing import run_hypercorn

    marks = tmp_path / "marks"
    marks.mkdir()
    here = Path(__file__).parent
    with run_hypercorn("reliability_app:app", cwd=here, env={"MARKS": str(marks)}) as server:

        async def leave_fifty() -> None:
            async def one(i: int) -> None:
                _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(f"GET /hang/{i} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
                await writer.drain()
                for _ in range(2000):  # the handler has started: its mark is there
                    if (marks / f"start-{i}").exists():
                        break
                    await asyncio.sleep(0.01)
                writer.close()
                await writer.wait_closed()

            await asyncio.gather(*(one(i) for i in range(50)))

        asyncio.run(leave_fifty())
        for _ in range(3000):
            if len(list(marks.glob("finally-*"))) == 50:
                break
            asyncio.run(asyncio.sleep(0.01))
        assert len(list(marks.glob("start-*"))) == 50
        assert len(list(marks.glob("finally-*"))) == 50
        response = httpx.get(f"{server.base_url}/hello", timeout=30)
        assert response.text == "hello"
