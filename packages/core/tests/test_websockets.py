"""WebSockets in-process: accept, subprotocols, text and bytes, close, refusal, errors."""

from __future__ import annotations

import logging

import pytest

from bareasgi import ROUTE_KEY, Application, Info, Matches, Scope, WebSocket
from bareasgi.testing import TestClient


def make_app() -> Application:
    app = Application()

    @app.on_ws_request("/echo/{room}", name="echo")
    async def echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        chosen = web_socket.subprotocols[0] if web_socket.subprotocols else None
        await web_socket.accept(subprotocol=chosen, headers=[(b"x-room", matches["room"].encode())])
        await web_socket.send(f"welcome to {matches['room']} via {scope[ROUTE_KEY].template}")
        while (message := await web_socket.receive()) is not None:
            if message == "bye":
                await web_socket.close(4001, "asked to leave")
                break
            await web_socket.send(message)

    async def refuse(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        await web_socket.reject(401, [(b"content-type", b"text/plain")], b"who are you?")

    async def broken(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        await web_socket.accept()
        raise RuntimeError("ws secret")

    async def silent(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        return None

    app.ws_router.add("/refuse", refuse)
    app.ws_router.add("/broken", broken)
    app.ws_router.add("/silent", silent)
    return app


async def test_echo_text_and_bytes_with_subprotocol_and_headers() -> None:
    async with (
        TestClient(make_app()) as client,
        client.websocket_connect("/echo/lobby", subprotocols=["chat.v2", "chat.v1"]) as session,
    ):
        assert await session.receive_text() == "welcome to lobby via /echo/{room}"
        await session.send_text("hello")
        assert await session.receive_text() == "hello"
        await session.send_bytes(b"\x00\x01binary")
        assert await session.receive_bytes() == b"\x00\x01binary"
        assert session.subprotocol == "chat.v2"
        assert session.response_headers.get("x-room") == "lobby"


async def test_close_with_code_and_reason() -> None:
    async with TestClient(make_app()) as client, client.websocket_connect("/echo/x") as session:
        await session.receive_text()
        await session.send_text("bye")
        code, reason = await session.wait_closed()
    assert (code, reason) == (4001, "asked to leave")


async def test_refused_handshake_gets_an_http_response() -> None:
    async with TestClient(make_app()) as client:
        refusal = await client.websocket_refusal("/refuse")
    assert refusal.status_code == 401
    assert refusal.content == b"who are you?"


async def test_unknown_path_is_refused_with_404() -> None:
    async with TestClient(make_app()) as client:
        refusal = await client.websocket_refusal("/nowhere")
    assert refusal.status_code == 404


async def test_handler_that_never_accepts_is_refused() -> None:
    async with TestClient(make_app()) as client:
        refusal = await client.websocket_refusal("/silent")
    assert refusal.status_code == 403


async def test_handler_error_after_accept_closes_1011_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="bareasgi"):
        async with TestClient(make_app()) as client, client.websocket_connect("/broken") as session:
            code, reason = await session.wait_closed()
    assert code == 1011
    assert "ws secret" not in reason
    assert "ws secret" in caplog.text


async def test_receive_is_none_once_the_client_is_gone() -> None:
    results: list[object] = []
    app = Application()

    @app.on_ws_request("/wait")
    async def wait(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        await web_socket.accept()
        results.append(await web_socket.receive())
        results.append(await web_socket.receive())
        results.append(web_socket.close_code)

    async with TestClient(app) as client:
        async with client.websocket_connect("/wait") as session:
            await session.send_text("one")
        await client.wait_for_app_tasks()
    assert results[0] == "one"
    assert results[1] is None
    assert isinstance(results[2], int)


def test_url_for_finds_websocket_routes() -> None:
    assert make_app().url_for("echo", room="a b") == "/echo/a%20b"
