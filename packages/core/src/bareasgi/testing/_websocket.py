"""In-process WebSockets: an ASGI-side network stream for httpx-ws, and a typed session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, final

import httpcore
import httpx
import httpx_ws
import wsproto
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    TextMessage,
)
from wsproto.events import (
    Message as WsMessage,
)
from wsproto.utilities import generate_accept_token

from ._common import ASGIProtocolError, ClientDisconnectedError, check_headers

if TYPE_CHECKING:
    from bareasgi.types import ASGIApp, Message, Scope

_ABNORMAL_CLOSURE: Final = 1006
_INTERNAL_ERROR: Final = 1011
_BUFFER_LIMIT: Final = 1024 * 1024
DEFAULT_MAX_MESSAGE_SIZE: Final = 16 * 1024 * 1024
"""The largest message a test WebSocket session receives by default: hypercorn's own limit."""


def is_websocket_request(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the request asks to upgrade to a WebSocket."""
    return any(
        name == b"upgrade"
        and b"websocket" in [token.strip() for token in value.lower().split(b",")]
        for name, value in headers
    )


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


@final
class WebSocketStream(httpcore.AsyncNetworkStream):
    """The server end of one in-process WebSocket: runs the app, speaks wsproto frames.

    httpx-ws drives it as the `network_stream` of a 101 response; the handshake gives a
    real HTTP answer: 101, 403 when the app closes before accepting, the app's own
    denial response (`websocket.http.response`), or 500 / the app's exception.
    """

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        *,
        raise_app_exceptions: bool,
        disconnect_timeout: float,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        offered = _header(scope["headers"], b"sec-websocket-protocol") or b""
        scope["subprotocols"] = [
            part.strip() for part in offered.decode("latin-1").split(",") if part.strip()
        ]
        scope["extensions"].setdefault("websocket.http.response", {})
        self._app = app
        self._scope = scope
        self._raise = raise_app_exceptions
        self._disconnect_timeout = disconnect_timeout
        self._tasks = tasks
        self._key = _header(scope["headers"], b"sec-websocket-key") or b""
        self._conn = Connection(wsproto.ConnectionType.SERVER)
        self._state = "handshake"  # -> open | response -> closed
        self._handshake_items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._connect_sent = False
        self._disconnect: Message | None = None
        self._partial: list[Any] = []
        self._outgoing = bytearray()
        self._readable = asyncio.Event()
        self._drained = asyncio.Event()
        self._eof = False
        self._task: asyncio.Task[None] | None = None
        self._app_exc: BaseException | None = None
        self._reported = False

    # -- the app's side ---------------------------------------------------------------

    async def _receive(self) -> Message:
        if not self._connect_sent:
            self._connect_sent = True
            return {"type": "websocket.connect"}
        if self._disconnect is not None and self._to_app.empty():
            return self._disconnect
        message = await self._to_app.get()
        if message["type"] == "websocket.disconnect":
            self._disconnect = message
        return message

    async def _send(self, message: Message) -> None:
        kind = message.get("type")
        if self._state == "handshake":
            if kind == "websocket.accept":
                check_headers(message.get("headers", []), kind)
                chosen = message.get("subprotocol")
                if chosen is not None and chosen not in self._scope["subprotocols"]:
                    raise ASGIProtocolError(f"subprotocol {chosen!r} was not offered")
                self._state = "open"
            elif kind == "websocket.close":
                self._state = "closed"
            elif kind == "websocket.http.response.start":
                check_headers(message.get("headers", []), kind)
                self._state = "response"
            else:
                raise ASGIProtocolError(f"{kind!r} sent before the handshake was answered")
            self._handshake_items.put_nowait(("message", message))
        elif self._state == "response":
            if kind != "websocket.http.response.body":
                raise ASGIProtocolError(f"{kind!r} sent during a denial response")
            if not message.get("more_body", False):
                self._state = "closed"
            self._handshake_items.put_nowait(("message", message))
        elif self._state == "open" and self._disconnect is None and not self._eof:
            if kind == "websocket.send":
                text, data = message.get("text"), message.get("bytes")
                if (text is None) == (data is None):
                    raise ASGIProtocolError("websocket.send needs exactly one of text and bytes")
                if data is None:
                    self._emit(TextMessage(data=str(text)))
                else:
                    self._emit(BytesMessage(data=bytes(data)))
            elif kind == "websocket.close":
                self._state = "closed"
                code = int(message.get("code") or 1000)
                self._emit(CloseConnection(code=code, reason=message.get("reason") or ""))
            else:
                raise ASGIProtocolError(f"unexpected message {kind!r} on an open WebSocket")
            await asyncio.sleep(0)  # never starve the loop
            while len(self._outgoing) > _BUFFER_LIMIT and not self._eof:
                self._drained.clear()
                await self._drained.wait()
        elif kind == "websocket.close":
            return  # closing twice is harmless
        elif kind == "websocket.send":
            raise ClientDisconnectedError("the WebSocket is closed")
        else:
            raise ASGIProtocolError(f"unexpected message {kind!r} on a closed WebSocket")

    def _emit(self, event: Any) -> None:
        if self._conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._outgoing += self._conn.send(event)
            self._readable.set()

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        except Exception as exc:
            self._app_exc = exc
            outcome: BaseException | None = exc
        else:
            outcome = None
        if self._state in ("handshake", "response"):
            self._handshake_items.put_nowait(("done", outcome))
        elif self._state == "open":
            self._state = "closed"  # like hypercorn: an app that stops without closing -> 1011
            if self._conn.state is ConnectionState.OPEN:
                self._emit(CloseConnection(code=_INTERNAL_ERROR, reason=""))
        self._readable.set()

    # -- the handshake ----------------------------------------------------------------

    async def _next_handshake_item(self, timeout: float | None) -> tuple[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                return await self._handshake_items.get()
        except TimeoutError:
            raise httpx.ReadTimeout("the ASGI app did not answer the handshake in time") from None

    async def handshake(self, request: httpx.Request, timeout: float | None) -> httpx.Response:
        """Run the app until it answers the handshake; return that answer."""
        self._task = task = asyncio.create_task(
            self._run(), name=f"websocket {self._scope['path']}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            kind, value = await self._next_handshake_item(timeout)
            if kind == "done":
                await self._finish(raise_app_exception=False)
                if self._raise:
                    if value is not None:
                        raise value
                    raise ASGIProtocolError("the ASGI app returned without answering the handshake")
                return httpx.Response(500, content=b"Internal Server Error", request=request)
            message: Message = value
            if message["type"] == "websocket.accept":
                headers = [
                    (b"upgrade", b"websocket"),
                    (b"connection", b"Upgrade"),
                    (b"sec-websocket-accept", generate_accept_token(self._key)),
                ]
                subprotocol = message.get("subprotocol")
                if subprotocol is not None:
                    headers.append((b"sec-websocket-protocol", subprotocol.encode("latin-1")))
                headers += check_headers(message.get("headers", []), "websocket.accept")
                return httpx.Response(
                    101,
                    headers=headers,
                    request=request,
                    extensions={"network_stream": self, "http_version": b"HTTP/1.1"},
                )
            if message["type"] == "websocket.close":
                await self._finish()
                return httpx.Response(
                    403, headers=[(b"content-length", b"0")], content=b"", request=request
                )
            # websocket.http.response.start: gather the body.
            status = message["status"]
            headers = check_headers(message.get("headers", []), message["type"])
            body = bytearray()
            while True:
                kind, value = await self._next_handshake_item(timeout)
                if kind == "done":
                    await self._finish(raise_app_exception=False)
                    if self._raise and value is not None:
                        raise value
                    raise httpx.RemoteProtocolError("the app stopped during its denial response")
                body += value.get("body", b"")
                if not value.get("more_body", False):
                    break
            await self._finish()
            return httpx.Response(status, headers=headers, content=bytes(body), request=request)
        except BaseException:
            await self._finish(raise_app_exception=False)
            raise

    async def _finish(self, *, raise_app_exception: bool = True) -> None:
        if self._disconnect is None:
            self._disconnect = {
                "type": "websocket.disconnect",
                "code": _ABNORMAL_CLOSURE,
                "reason": "",
            }
            self._to_app.put_nowait(self._disconnect)
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=self._disconnect_timeout)
            if not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=self._disconnect_timeout)
        exc = self._app_exc
        if (
            raise_app_exception
            and self._raise
            and exc is not None
            and not self._reported
            and not isinstance(exc, ClientDisconnectedError)
        ):
            self._reported = True
            raise exc

    # -- httpcore.AsyncNetworkStream: the client's side -------------------------------

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Frames the app sent, as bytes; b'' once the stream is closed."""
        while not self._outgoing:
            if self._eof:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = bytes(self._outgoing[:max_bytes])
        del self._outgoing[:max_bytes]
        self._drained.set()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Frames from the client: become `websocket.receive` / `websocket.disconnect`."""
        if self._eof:
            raise httpcore.WriteError("the WebSocket stream is closed")
        self._conn.receive_data(buffer)
        for event in self._conn.events():
            if isinstance(event, WsMessage):
                self._partial.append(event.data)
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        self._to_app.put_nowait(
                            {"type": "websocket.receive", "text": "".join(self._partial)}
                        )
                    else:
                        self._to_app.put_nowait(
                            {"type": "websocket.receive", "bytes": b"".join(self._partial)}
                        )
                    self._partial = []
            elif isinstance(event, Ping):
                self._emit(event.response())
            elif isinstance(event, CloseConnection):
                if self._conn.state is ConnectionState.REMOTE_CLOSING:
                    self._emit(event.response())
                self._disconnect = {
                    "type": "websocket.disconnect",
                    "code": event.code,
                    "reason": event.reason or "",
                }
                self._to_app.put_nowait(self._disconnect)

    async def aclose(self) -> None:
        """The client is done: the app hears a disconnect and is waited for (bounded)."""
        if self._eof:
            return
        self._eof = True
        self._readable.set()
        self._drained.set()
        await self._finish()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NotImplementedError("TLS is not used in-process")

    def get_extra_info(self, info: str) -> Any:
        return None


@final
class WebSocketSession:
    """A client WebSocket session (a thin typed layer over httpx-ws's session)."""

    def __init__(self, session: httpx_ws.AsyncWebSocketSession) -> None:
        self.session = session
        """The underlying `httpx_ws.AsyncWebSocketSession` (ping, JSON, raw events)."""

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server accepted, if any."""
        return self.session.subprotocol

    @property
    def response(self) -> httpx.Response:
        """The handshake's 101 response (its headers)."""
        assert self.session.response is not None
        return self.session.response

    @property
    def response_headers(self) -> httpx.Headers:
        """The handshake response's headers."""
        return self.response.headers

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self.session.send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self.session.send_bytes(data)

    async def receive(self, timeout: float | None = None) -> str | bytes:
        """The next message; raises `WebSocketDisconnect` (code, reason) once closed."""
        event = await self.session.receive(timeout)
        if isinstance(event, TextMessage):
            return event.data
        if isinstance(event, BytesMessage):
            return bytes(event.data)
        raise httpx_ws.WebSocketInvalidTypeReceived(event)

    async def receive_text(self, timeout: float | None = None) -> str:
        """The next message, which must be text."""
        return await self.session.receive_text(timeout)

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The next message, which must be binary."""
        return bytes(await self.session.receive_bytes(timeout))

    async def wait_closed(self, timeout: float | None = None) -> tuple[int, str]:
        """Skip messages until the server closes; return its close code and reason."""
        while True:
            try:
                await self.session.receive(timeout)
            except httpx_ws.WebSocketDisconnect as closed:
                return closed.code, closed.reason

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the session with this code and reason."""
        await self.session.close(code, reason)
