"""TestClient WebSocket sessions receive messages as large as a server would send them."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from bareasgi import Application, Info, Matches, Scope, WebSocket
from bareasgi.testing import TestClient, WebSocketDisconnect

# httpx-ws enforces a largest received message from 0.10 on; before, it had no limit.
HTTPX_WS_LIMITS = tuple(int(part) for part in version("httpx-ws").split(".")[:2]) >= (0, 10)


def make_app() -> Application:
    app = Application()

    @app.on_ws_request("/echo")
    async def echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
        await web_socket.accept()
        while (message := await web_socket.receive()) is not None:
            await web_socket.send(message)

    return app


async def test_messages_far_above_httpx_ws_default_are_received() -> None:
    text = "é" * (1024 * 1024)  # 2 MiB of UTF-8, 32 times httpx-ws 0.10's own default
    data = bytes(range(256)) * (3 * 1024 * 4)  # 3 MiB
    async with TestClient(make_app()) as client, client.websocket_connect("/echo") as session:
        await session.send_text(text)
        assert await session.receive_text() == text
        await session.send_bytes(data)
        assert await session.receive_bytes() == data


async def test_the_limit_is_settable_per_client_and_per_session() -> None:
    big = b"x" * 4096
    async with TestClient(make_app(), websocket_max_message_size=4096) as client:
        assert client.websocket_max_message_size == 4096
        async with client.websocket_connect("/echo") as session:
            await session.send_bytes(big)  # exactly the limit is allowed
            assert await session.receive_bytes() == big
        async with client.websocket_connect("/echo", max_message_size=8192) as session:
            await session.send_bytes(big + big)
            assert await session.receive_bytes() == big + big


@pytest.mark.skipif(not HTTPX_WS_LIMITS, reason="httpx-ws before 0.10 has no message limit")
async def test_a_message_over_the_limit_closes_with_1009() -> None:
    async with TestClient(make_app()) as client:
        async with client.websocket_connect("/echo", max_message_size=1024) as session:
            await session.send_bytes(b"x" * 1025)
            with pytest.raises(WebSocketDisconnect) as closed:
                await session.receive_bytes()
        assert closed.value.code == 1009


async def test_a_limit_below_one_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 byte"):
        TestClient(make_app(), websocket_max_message_size=0)
    async with TestClient(make_app()) as client:
        with pytest.raises(ValueError, match="at least 1 byte"):
            client.websocket_connect("/echo", max_message_size=0)
