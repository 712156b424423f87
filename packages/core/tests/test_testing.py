"""bareasgi.testing against small hand-written ASGI apps (no framework involved)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanNotSupported

from bareasgi.testing import (
    PUSHES_KEY,
    TRAILERS_KEY,
    ASGIProtocolError,
    ClientDisconnectedError,
    LifespanShutdownFailed,
    LifespanStartupFailed,
    TestClient,
    WebSocketDisconnect,
    WebSocketUpgradeError,
    parse_http_response,
    parse_http_responses,
    raw_http,
    run_hypercorn,
)
from bareasgi.types import ASGIApp, Message, Receive, Scope, Send

TEXT = [(b"content-type", b"text/plain")]


async def start(
    send: Send, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or TEXT})


async def body(send: Send, data: bytes, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def read_body(receive: Receive) -> bytes:
    data = b""
    while True:
        message = await receive()
        assert message["type"] == "http.request"
        data += bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return data


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


async def scope_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with its scope as JSON (bytes as latin-1 text)."""
    if scope["type"] != "http":
        return
    await start(send, headers=[(b"content-type", b"application/json")])
    await body(send, json.dumps(jsonable(dict(scope))).encode())


# -- HTTP: streaming --------------------------------------------------------------------


async def test_response_streams_chunk_by_chunk() -> None:
    first_read = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await body(send, b"one", more=True)
        await first_read.wait()  # never set unless the test saw "one" already
        await body(send, b"two")

    async with TestClient(app, lifespan=False) as client, client.stream("GET", "/") as response:
        assert response.status_code == 200
        chunks = response.aiter_raw()
        assert await anext(chunks) == b"one"
        first_read.set()
        assert [chunk async for chunk in chunks] == [b"two"]


async def test_request_body_streams_with_more_body_flags() -> None:
    messages: list[Message] = []
    app_has_first = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            messages.append(message)
            app_has_first.set()
            if not message.get("more_body", False):
                break
        await start(send)
        await body(send, b"ok")

    async def content() -> AsyncIterator[bytes]:
        yield b"first"
        await app_has_first.wait()  # the app must see "first" before "second" exists
        yield b"second"

    async with TestClient(app, lifespan=False) as client:
        assert (await client.post("/", content=content())).text == "ok"
        assert [(m["body"], m["more_body"]) for m in messages] == [
            (b"first", True),
            (b"second", True),
            (b"", False),
        ]
        messages.clear()
        await client.post("/", content=b"whole")  # content-length known: one last chunk
        assert [(m["body"], m["more_body"]) for m in messages] == [(b"whole", False)]
        messages.clear()
        await client.get("/")
        assert [(m["body"], m["more_body"]) for m in messages] == [(b"", False)]


async def test_receive_blocks_after_the_body_until_the_response_is_complete() -> None:
    seen: list[str] = []
    client_has_a = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        waiting = asyncio.ensure_future(receive())
        await start(send)
        await body(send, b"a", more=True)
        # The client has read the first chunk: the response is under way, not complete.
        await asyncio.wait_for(client_has_a.wait(), 10)
        seen.append(f"done early: {waiting.done()}")
        await body(send, b"b")
        seen.append((await waiting)["type"])

    async with TestClient(app, lifespan=False) as client, client.stream("GET", "/") as response:
        chunks = response.aiter_raw()
        assert await anext(chunks) == b"a"
        client_has_a.set()
        assert b"".join([chunk async for chunk in chunks]) == b"b"
    assert seen == ["done early: False", "http.disconnect"]


async def test_closing_the_response_early_disconnects_the_app() -> None:
    events: list[str] = []

    async def waits_for_disconnect(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        await start(send)
        await body(send, b"first", more=True)
        events.append((await receive())["type"])

    async def keeps_sending(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        try:
            while True:
                await body(send, b"x" * 1000, more=True)
        except ClientDisconnectedError:
            events.append("send raised OSError")

    async def ignores_everything(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await body(send, b"first", more=True)
        try:
            await asyncio.Event().wait()
        finally:
            events.append("cancelled")

    for app in (waits_for_disconnect, keeps_sending, ignores_everything):
        async with TestClient(app, lifespan=False, disconnect_timeout=0.2) as client:
            async with client.stream("GET", "/") as response:
                async for _ in response.aiter_raw():
                    break
            # Leaving the block waited for (or cancelled) the app: nothing is left running.
            assert not client.transport.app_tasks
    assert events == ["http.disconnect", "send raised OSError", "cancelled"]
    assert not [task for task in asyncio.all_tasks() if task.get_name().startswith("asgi ")]


async def test_head_bodies_are_not_dropped() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send, headers=[(b"content-length", b"4")])
        await body(send, b"body")

    async with TestClient(app, lifespan=False) as client:
        response = await client.head("/")
    assert response.content == b"body"
    assert response.headers["content-length"] == "4"


async def test_content_length_is_checked() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send, headers=[(b"content-length", b"10")])
        await body(send, b"short")

    async with TestClient(app, lifespan=False) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="content-length"):
            await client.get("/")


# -- HTTP: errors -----------------------------------------------------------------------


async def failing_before_start(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("before start")


async def failing_after_start(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send)
    await body(send, b"partial", more=True)
    raise ValueError("after start")


async def test_exception_before_start_is_raised_or_500() -> None:
    async with TestClient(failing_before_start, lifespan=False) as client:
        with pytest.raises(ValueError, match="before start"):
            await client.get("/")
    async with TestClient(
        failing_before_start, lifespan=False, raise_app_exceptions=False
    ) as client:
        response = await client.get("/")
    assert response.status_code == 500


async def test_exception_after_start_breaks_the_body_stream() -> None:
    async with TestClient(failing_after_start, lifespan=False) as client:
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            await client.get("/")
        assert isinstance(raised.value.__cause__, ValueError)
        async with client.stream("GET", "/") as response:
            assert response.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                await response.aread()


async def test_protocol_errors_are_named() -> None:
    async def upper_case_header(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send, headers=[(b"Content-Type", b"text/plain")])

    async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
        await body(send, b"x")

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    for app, match in [
        (upper_case_header, "lower-case"),
        (body_first, "before http.response.start"),
        (silent, "without sending"),
    ]:
        async with TestClient(app, lifespan=False) as client:
            with pytest.raises(ASGIProtocolError, match=match):
                await client.get("/")


async def test_pushes_and_trailers_are_recorded() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if "http.response.push" in scope["extensions"]:
            await send(
                {"type": "http.response.push", "path": "/a.css", "headers": [(b"accept", b"*/*")]}
            )
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await body(send, b"page")
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")]})

    extensions: dict[str, Any] = {"http.response.push": {}, "http.response.trailers": {}}
    async with TestClient(app, lifespan=False, extensions=extensions) as client:
        response = await client.get("/")
    assert response.content == b"page"
    assert response.extensions[PUSHES_KEY] == [("/a.css", [(b"accept", b"*/*")])]
    assert response.extensions[TRAILERS_KEY] == [(b"x-checksum", b"1")]

    async def pushes_anyway(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.push", "path": "/a.css", "headers": []})

    async with TestClient(pushes_anyway, lifespan=False) as client:
        with pytest.raises(ASGIProtocolError, match="not offered"):
            await client.get("/")


async def test_an_app_that_never_answers_times_out() -> None:
    cancelled: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async with TestClient(app, lifespan=False, timeout=0.2, disconnect_timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/")
        assert not client.transport.app_tasks
    assert cancelled == [True]


# -- HTTP: the scope --------------------------------------------------------------------


async def test_scope_is_a_full_asgi_http_scope() -> None:
    async with TestClient(
        scope_echo,
        lifespan=False,
        base_url="https://example.org:8443",
        root_path="/api",
        extensions={"http.response.push": {}},
    ) as client:
        scope = (await client.post("/api/caf%C3%A9/x?q=1&r=%20", content=b"abc")).json()
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "POST"
    assert scope["scheme"] == "https"
    assert scope["path"] == "/api/café/x"
    assert scope["raw_path"] == "/api/caf%C3%A9/x"
    assert scope["query_string"] == "q=1&r=%20"
    assert scope["root_path"] == "/api"
    assert ["host", "example.org:8443"] in scope["headers"]
    assert ["content-length", "3"] in scope["headers"]
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert scope["client"] == ["127.0.0.1", 50000]
    assert scope["server"] == ["example.org", 8443]
    assert scope["extensions"] == {"http.response.push": {}}
    assert "state" not in scope


async def test_raw_path_is_kept_exactly() -> None:
    async with TestClient(scope_echo, lifespan=False) as client:
        normalised = (await client.get("/a/../b")).json()
        assert normalised["raw_path"] == "/b"  # why raw_request exists
        for raw, path in [
            (b"/a/../b", "/a/../b"),
            (b"/%2e%2e/x", "/../x"),
            (b"/a%2Fb", "/a/b"),
            (b"/%zz", "/%zz"),
        ]:
            response = await client.raw_request("GET", raw)
            scope = response.json()
            assert (scope["raw_path"], scope["path"]) == (raw.decode(), path)
            assert ["host", "testserver"] in scope["headers"]
        scope = (await client.raw_request("POST", b"/x?y=1", body=b"data")).json()
        assert (scope["raw_path"], scope["query_string"]) == ("/x", "y=1")
        assert ["content-length", "4"] in scope["headers"]


# -- Lifespan ---------------------------------------------------------------------------


def lifespan_app(calls: list[str], *, fail: str = "", http: ASGIApp = scope_echo) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await http(scope, receive, send)
            return
        while True:
            message = await receive()
            calls.append(message["type"])
            if message["type"] == "lifespan.startup":
                scope["state"]["db"] = "connected"
                if fail == "startup":
                    await send({"type": "lifespan.startup.failed", "message": "no database"})
                    return
                if fail == "raise":
                    raise RuntimeError("startup blew up")
                await send({"type": "lifespan.startup.complete"})
            else:
                if fail == "shutdown":
                    await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    return app


async def test_lifespan_runs_and_shares_state() -> None:
    calls: list[str] = []
    async with TestClient(lifespan_app(calls)) as client:
        assert calls == ["lifespan.startup"]
        scope = (await client.get("/")).json()
        assert scope["state"] == {"db": "connected"}
        assert client.state == {"db": "connected"}
    assert calls == ["lifespan.startup", "lifespan.shutdown"]


async def test_lifespan_failures_raise() -> None:
    with pytest.raises(LifespanStartupFailed, match="no database"):
        async with TestClient(lifespan_app([], fail="startup")):
            pytest.fail("startup failed: the block must not run")
    with pytest.raises(RuntimeError, match="startup blew up"):
        async with TestClient(lifespan_app([], fail="raise")):
            pytest.fail("startup failed: the block must not run")
    with pytest.raises(LifespanShutdownFailed, match="flush failed"):
        async with TestClient(lifespan_app([], fail="shutdown")):
            pass


async def test_an_app_without_lifespan_fails_fast_unless_lifespan_is_off() -> None:
    with pytest.raises(LifespanNotSupported) as raised:
        async with TestClient(scope_echo, startup_timeout=60):
            pytest.fail("the app has no lifespan")
    assert "lifespan=False" in str(raised.value.__cause__)
    async with TestClient(scope_echo, lifespan=False) as client:
        assert (await client.get("/")).status_code == 200


# -- WebSockets -------------------------------------------------------------------------


async def websocket_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await scope_echo(scope, receive, send)
        return
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    path = scope["path"]
    if path == "/refuse":
        await send({"type": "websocket.close", "code": 1008})
        return
    if path == "/deny":
        assert "websocket.http.response" in scope["extensions"]
        await send(
            {"type": "websocket.http.response.start", "status": 401, "headers": [(b"x-why", b"1")]}
        )
        await send({"type": "websocket.http.response.body", "body": b"who ", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"are you?"})
        return
    if path == "/broken":
        raise RuntimeError("ws handler bug")
    subprotocol = scope["subprotocols"][-1] if scope["subprotocols"] else None
    await send(
        {"type": "websocket.accept", "subprotocol": subprotocol, "headers": [(b"x-a", b"b")]}
    )
    await send({"type": "websocket.send", "text": json.dumps(jsonable(dict(scope)))})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            seen_disconnects.append((message["code"], message.get("reason", "")))
            return
        if message.get("text") == "close please":
            await send({"type": "websocket.close", "code": 4000, "reason": "as asked"})
            continue
        await send({"type": "websocket.send", **{k: v for k, v in message.items() if k != "type"}})


seen_disconnects: list[tuple[int, str]] = []


async def test_websocket_echo_text_bytes_and_subprotocol() -> None:
    async with (
        TestClient(websocket_app, lifespan=False) as client,
        client.websocket_connect("/chat?room=1", subprotocols=["v1", "v2"]) as session,
    ):
        scope = json.loads(await session.receive_text())
        await session.send_text("hello")
        assert await session.receive_text() == "hello"
        await session.send_bytes(b"\x00\xff")
        assert await session.receive_bytes() == b"\x00\xff"
        await session.send_text("x" * 100_000)
        assert await session.receive() == "x" * 100_000
        assert session.subprotocol == "v2"
        assert session.response_headers["x-a"] == "b"
    assert scope["type"] == "websocket"
    assert scope["scheme"] == "ws"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/chat", "/chat", "room=1")
    assert scope["subprotocols"] == ["v1", "v2"]
    assert "websocket.http.response" in scope["extensions"]
    assert "method" not in scope


async def test_websocket_close_codes_both_ways() -> None:
    seen_disconnects.clear()
    async with TestClient(websocket_app, lifespan=False) as client:
        async with client.websocket_connect("/chat") as session:
            await session.receive_text()
            await session.send_text("close please")
            with pytest.raises(WebSocketDisconnect) as closed:
                await session.receive_text()
            assert (closed.value.code, closed.value.reason) == (4000, "as asked")
        async with client.websocket_connect("/chat") as session:
            await session.receive_text()
            await session.send_text("close please")
            assert await session.wait_closed() == (4000, "as asked")
        async with client.websocket_connect("/chat") as session:
            await session.receive_text()
            await session.close(4321, "client leaves")
        assert not client.transport.app_tasks
    assert seen_disconnects[-1] == (4321, "client leaves")


async def test_refused_websocket_handshakes_are_http_answers() -> None:
    async with TestClient(websocket_app, lifespan=False) as client:
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with client.websocket_connect("/refuse"):
                pytest.fail("the handshake was refused")
        assert refused.value.response.status_code == 403
        denied = await client.websocket_refusal("/deny")
        assert (denied.status_code, denied.headers["x-why"], denied.content) == (
            401,
            "1",
            b"who are you?",
        )
        with pytest.raises(AssertionError, match="accepted"):
            await client.websocket_refusal("/chat")


async def test_websocket_app_errors() -> None:
    async with TestClient(websocket_app, lifespan=False) as client:
        with pytest.raises(RuntimeError, match="ws handler bug"):
            async with client.websocket_connect("/broken"):
                pass
    async with TestClient(websocket_app, lifespan=False, raise_app_exceptions=False) as client:
        assert (await client.websocket_refusal("/broken")).status_code == 500

    async def fails_after_accept(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        raise RuntimeError("after accept")

    async def wrong_subprotocol(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "v9"})

    async with TestClient(wrong_subprotocol, lifespan=False) as client:
        with pytest.raises(ASGIProtocolError, match="v9"):
            async with client.websocket_connect("/", subprotocols=["v1"]):
                pass

    async with TestClient(fails_after_accept, lifespan=False) as client:
        with pytest.raises(RuntimeError, match="after accept"):
            async with client.websocket_connect("/") as session:
                assert (await session.wait_closed())[0] == 1011


# -- A real hypercorn -------------------------------------------------------------------

SERVER_APP = textwrap.dedent(
    """
    import os

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["path"] == "/upload":  # refuses without reading the body
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-length", b"8"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": b"too big!"})
            return
        if scope["path"] == "/chunked":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for part in (b"ab", b"cd"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        text = f"{os.getpid()} {scope['raw_path'].decode()}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(text)).encode())]})
        await send({"type": "http.response.body", "body": text})
    """
)


def test_run_hypercorn_serves_a_module_and_raw_http_reads_it(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(SERVER_APP)
    with run_hypercorn("tiny:app", cwd=tmp_path) as server:
        assert server.host == "127.0.0.1"
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        response = httpx.get(f"{server.base_url}/hello", timeout=10)
        assert response.status_code == 200
        assert response.text.split()[1] == "/hello"

        raw = raw_http(
            server.host,
            server.port,
            b"GET /a/../b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        status, _, content = parse_http_response(raw)
        assert (status, content.split()[1]) == (200, b"/a/../b")

        # An answer that comes before the body was sent: no deadlock, the answer is kept.
        big = 32 * 1024 * 1024
        request = f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {big}\r\n\r\n".encode()
        raw = raw_http(server.host, server.port, request + b"\0" * big, timeout=30)
        assert parse_http_response(raw)[0::2] == (413, b"too big!")

        pipelined = b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"
        raw = raw_http(
            server.host,
            server.port,
            pipelined + b"HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        answers = parse_http_responses(raw[: raw.rindex(b"HTTP/1.1 200")])
        assert [answer.body.split(b" ")[-1] for answer in answers] == [b"/one", b"abcd"]
        assert answers[1].header(b"transfer-encoding") == b"chunked"
        assert parse_http_response(raw[raw.rindex(b"HTTP/1.1 200") :], head=True).body == b""

        one = raw_http(
            server.host, server.port, b"GET /k HTTP/1.1\r\nHost: x\r\n\r\n", read_until_close=False
        )
        assert parse_http_response(one).body.endswith(b"/k")
        with httpx.Client(http1=False, http2=True, timeout=10) as h2c:  # prior knowledge
            assert h2c.get(f"{server.base_url}/h2").http_version == "HTTP/2"
        assert "Running on" in server.output()
    assert server.process.poll() is not None
    assert not server.alive()  # no process of its group is left behind


def test_run_hypercorn_with_two_workers(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(SERVER_APP)
    with run_hypercorn("tiny:app", cwd=tmp_path, workers=2) as server:
        pids = {
            httpx.get(
                f"{server.base_url}/", headers={"connection": "close"}, timeout=10
            ).text.split()[0]
            for _ in range(20)
        }
    assert pids
    assert str(server.pid) not in pids  # the master only supervises
    assert server.output().count("Running on") >= 2
    assert not server.alive()


def test_run_hypercorn_reports_a_crash_at_startup(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("raise SystemExit('cannot start: missing setting')\n")
    with (
        pytest.raises(RuntimeError, match="missing setting"),
        run_hypercorn("bad:app", cwd=tmp_path),
    ):
        pytest.fail("the server must not start")


def test_parse_http_response_handles_interim_and_chunked_trailers() -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n"
    )
    status, headers, content = parse_http_response(raw)
    assert (status, content) == (200, b"abcde")
    assert (b"x-a", b"b") in headers


async def test_raw_request_keeps_non_ascii_bytes_that_httpx_refuses() -> None:
    seen: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        seen.append(scope["raw_path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with TestClient(app, lifespan=False) as client:
        response = await client.raw_request("GET", b"/caf\xc3\xa9/\x80")
    assert response.status_code == 204
    assert seen == [b"/caf\xc3\xa9/\x80"]


async def test_a_request_with_an_empty_body_still_gets_its_one_message() -> None:
    """Servers send one `http.request` message even for no body: a handler reading the body of
    `content-length: 0` finds it empty, it does not wait."""
    from bareasgi import Application, text_writer
    from bareasgi.types import Content, HttpResponse, Info, Matches

    app = Application()

    async def read(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        data = b"".join([chunk async for chunk in content])
        return 200, [(b"content-type", b"text/plain")], text_writer(f"{len(data)} bytes")

    app.http_router.add({"POST"}, "/read", read)
    async with TestClient(app) as client:
        response = await client.post("/read", content=b"")
        assert response.text == "0 bytes"


def test_without_chromium_a_browser_test_skips_or_in_ci_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    from bareasgi.testing import chromium_or_skip

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not installed"):
        chromium_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set and chromium not installed"):
        chromium_or_skip()


def test_without_a_program_a_test_skips_or_in_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from bareasgi.testing import program_or_skip

    assert program_or_skip("sh", "apt-get install -y dash").endswith("/sh")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-tool is not installed: as root, x"):
        program_or_skip("no-such-tool", "x")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set and no-such-tool is not installed"):
        program_or_skip("no-such-tool", "x")
