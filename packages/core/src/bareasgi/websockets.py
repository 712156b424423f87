"""The WebSocket object handed to WebSocket handlers."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Final, final

from .types import Headers, Receive, Scope, Send

CONNECTING: Final = 0
CONNECTED: Final = 1
CLOSED: Final = 2


class WebSocketClosed(ConnectionError):
    """Sending on a WebSocket that is closed, or accepting one that is not connecting."""


@final
class WebSocket:
    """One WebSocket connection.

    `receive()` returns `str` or `bytes`, and `None` once the connection is closed (by either
    side); `close_code` then holds the code the client sent, if any.
    """

    __slots__ = ("_receive", "_send", "close_code", "close_reason", "scope", "state")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.state = CONNECTING
        self.close_code: int | None = None
        self.close_reason: str | None = None

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self.scope.get("subprotocols") or ())

    async def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the handshake, optionally choosing a subprotocol and adding headers."""
        if self.state != CONNECTING:
            raise WebSocketClosed("the WebSocket has already been accepted or closed")
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
        message: dict[str, object] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = list(headers)
        await self._send(message)
        self.state = CONNECTED

    async def receive(self) -> str | bytes | None:
        """The next message, or None once the connection is closed."""
        if self.state == 2:  # CLOSED (a constant costs less than a global here)
            return None
        message = await self._receive()
        if message["type"] == "websocket.receive":
            text = message.get("text")
            if text is not None:
                return text if type(text) is str else str(text)
            data = message.get("bytes")
            return data if type(data) is bytes else bytes(data or b"")
        kind = message["type"]
        if kind == "websocket.disconnect":
            self.state = CLOSED
            self.close_code = message.get("code", 1005)
            self.close_reason = message.get("reason") or ""
            return None
        return await self.receive()

    def send(self, data: str | bytes) -> Awaitable[None]:
        """Send a text (`str`) or binary (`bytes`) message: `await web_socket.send(data)`.

        Returns the server's own awaitable (no coroutine of ours per message); a WebSocket
        that is not open raises `WebSocketClosed` at the call.
        """
        if self.state != 1:  # CONNECTED
            raise WebSocketClosed("the WebSocket is not open")
        if type(data) is str:
            return self._send({"type": "websocket.send", "text": data})
        if isinstance(data, str):
            return self._send({"type": "websocket.send", "text": str(data)})
        return self._send({"type": "websocket.send", "bytes": bytes(data)})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (before accepting, this refuses the handshake)."""
        if self.state == CLOSED:
            return
        self.state = CLOSED
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def reject(
        self, status: int = 403, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        """Refuse the handshake with an HTTP response where the server offers it.

        Servers without the `websocket.http.response` extension get a close instead, which
        they answer with 403.
        """
        if self.state != CONNECTING:
            raise WebSocketClosed("only a connecting WebSocket can be rejected")
        self.state = CLOSED
        if "websocket.http.response" not in (self.scope.get("extensions") or {}):
            await self._send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        response_headers = list(headers or ())
        if body and not any(name == b"content-length" for name, _ in response_headers):
            response_headers.append((b"content-length", str(len(body)).encode()))
        await self._send(
            {"type": "websocket.http.response.start", "status": status, "headers": response_headers}
        )
        await self._send({"type": "websocket.http.response.body", "body": body})


__all__ = ["CLOSED", "CONNECTED", "CONNECTING", "WebSocket", "WebSocketClosed"]
