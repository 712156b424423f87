"""Once the client has left, a WebSocket is closed: receive() gives None, send() raises."""

from __future__ import annotations

import asyncio
from typing import Any

from bareasgi import Application, Info, Matches, Scope, WebSocket, WebSocketClosed
from bareasgi.testing import TestClient
from bareasgi.types import Message
from bareasgi.websockets import CLOSED


def make_app(seen: dict[str, Any], done: asyncio.Event) -> Application:
    app = Application()

    @app.on_ws_request("/ws")
    async def after_leaving(
        scope: Scope, info: Info, matches: Matches, web_socket: WebSocket
    ) -> None:
        await web_socket.accept()
        try:
            seen["first"] = await web_socket.receive()
            seen["state"] = web_socket.state
            seen["code"] = web_socket.close_code
            seen["second"] = await web_socket.receive()
            try:
                await web_socket.send("anyone there?")
            except Exception as exc:
                seen["send"] = exc
            else:
                seen["send"] = None
        except BaseException as exc:
            seen["error"] = exc
            raise
        finally:
            done.set()

    return app


def websocket_scope() -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "subprotocols": [],
        "extensions": {},
    }


async def test_after_the_client_leaves_the_socket_is_closed() -> None:
    """Driven by hand: receive() is never called again once it has reported the disconnect."""
    seen: dict[str, Any] = {}
    done = asyncio.Event()
    app = make_app(seen, done)
    incoming: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1001, "reason": "gone"},
    ]
    late_receives = 0
    sent: list[Message] = []

    async def receive() -> dict[str, Any]:
        nonlocal late_receives
        if not incoming:
            late_receives += 1
            raise AssertionError("receive() called after websocket.disconnect")
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(websocket_scope(), receive, send)
    await done.wait()
    assert "error" not in seen
    assert seen["first"] is None
    assert seen["state"] == CLOSED
    assert seen["code"] == 1001
    assert seen["second"] is None
    assert late_receives == 0
    assert isinstance(seen["send"], WebSocketClosed)
    # Nothing is sent to a client that has gone: not the message, not a close.
    assert [message["type"] for message in sent] == ["websocket.accept"]


async def test_after_the_client_closes_the_socket_is_closed_through_the_test_client() -> None:
    seen: dict[str, Any] = {}
    done = asyncio.Event()
    async with TestClient(make_app(seen, done)) as client:
        async with client.websocket_connect("/ws") as session:
            await session.close(4000, "leaving")
        await done.wait()
        await client.wait_for_app_tasks()
    assert "error" not in seen
    assert seen["first"] is None
    assert (seen["state"], seen["code"]) == (CLOSED, 4000)
    assert seen["second"] is None
    assert isinstance(seen["send"], WebSocketClosed)
