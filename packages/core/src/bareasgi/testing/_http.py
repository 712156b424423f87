"""A streaming in-process httpx transport for any ASGI 3 application."""

from __future__ import annotations

import asyncio
import copy
import enum
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, final

import httpx

from bareasgi.types import ASGIApp, Message, Scope

from ._common import (
    ASGIProtocolError,
    ClientDisconnectedError,
    HeaderList,
    check_headers,
    decode_path,
)
from ._websocket import WebSocketStream, is_websocket_request

ASGI_HTTP: Final = {"version": "3.0", "spec_version": "2.4"}
PUSHES_KEY: Final = "bareasgi.pushes"
"""Key of `httpx.Response.extensions` listing the app's `(path, headers)` pushes."""
TRAILERS_KEY: Final = "bareasgi.trailers"
"""Key of `httpx.Response.extensions` listing the app's trailer headers."""

_NO_BODY_STATUSES: Final = frozenset({204, 304})
_BUFFER_LIMIT: Final = 64 * 1024


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _default_port(scheme: str) -> int:
    return 443 if scheme in ("https", "wss") else 80


@final
class StreamingASGITransport(httpx.AsyncBaseTransport):
    """An httpx transport that runs an ASGI app in-process and streams both ways.

    Unlike `httpx.ASGITransport` it returns the response as soon as the app starts it,
    streams the request and response bodies chunk by chunk, keeps HEAD bodies, tells the
    app when the client goes away, and serves WebSocket handshakes (for httpx-ws).

    Args:
        app: Any ASGI 3 application.
        raise_app_exceptions: Raise an exception the app raises before starting its
            response (else answer 500). After the start the body stream always fails.
        root_path: The scope's `root_path`.
        client: The scope's `client`.
        extensions: Put (a deep copy) in every scope's `extensions`, e.g.
            `{'http.response.push': {}}`.
        state: Lifespan state, shallow-copied into every scope; `None` leaves it out.
        disconnect_timeout: Seconds the app may run on after its client has gone
            before it is cancelled.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] | None = ("127.0.0.1", 50000),
        extensions: Mapping[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        disconnect_timeout: float = 5.0,
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client
        self.extensions: dict[str, Any] = dict(extensions or {})
        self.state = state
        self.disconnect_timeout = disconnect_timeout
        self.app_tasks: set[asyncio.Task[None]] = set()
        """The app tasks still running (each request's or WebSocket's)."""

    def http_scope(
        self,
        method: str,
        url: httpx.URL,
        raw_path: bytes,
        query_string: bytes,
        headers: HeaderList,
    ) -> Scope:
        """Build an ASGI HTTP scope; `raw_path` is used exactly as given."""
        scheme = url.scheme or "http"
        scope: Scope = {
            "type": "http",
            "asgi": dict(ASGI_HTTP),
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": scheme,
            "path": decode_path(raw_path),
            "raw_path": raw_path,
            "query_string": query_string,
            "root_path": self.root_path,
            "headers": headers,
            "client": self.client,
            "server": (url.host, url.port or _default_port(scheme)),
            "extensions": copy.deepcopy(self.extensions),
        }
        if self.state is not None:
            scope["state"] = dict(self.state)
        return scope

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app for one request; the response streams while the app runs."""
        headers = [(name.lower(), value) for name, value in request.headers.raw]
        raw_path, _, _ = request.url.raw_path.partition(b"?")
        timeout = _read_timeout(request)
        if is_websocket_request(headers):
            scope = self.http_scope(
                request.method, request.url, raw_path, request.url.query, headers
            )
            scope["type"] = "websocket"
            scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
            del scope["method"]
            stream = WebSocketStream(
                self.app,
                scope,
                raise_app_exceptions=self.raise_app_exceptions,
                disconnect_timeout=self.disconnect_timeout,
                tasks=self.app_tasks,
            )
            return await stream.handshake(request, timeout)
        scope = self.http_scope(request.method, request.url, raw_path, request.url.query, headers)
        body = request.stream
        if not isinstance(body, AsyncIterable):
            raise TypeError("StreamingASGITransport needs an async request stream")
        return await self.run_http(scope, body, request, timeout=timeout)

    async def run_http(
        self,
        scope: Scope,
        body: AsyncIterable[bytes],
        request: httpx.Request,
        *,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Run the app on a ready-made HTTP scope and return its streaming response."""
        exchange = _HttpExchange(self, scope, body, timeout)
        return await exchange.start(request)


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        value = timeouts.get("read")
        return float(value) if value is not None else None
    return None


class _End(enum.Enum):
    END = enum.auto()


# Items passed from the app task to the response stream.
_Item = tuple[str, Any]


@final
class _HttpExchange:
    """One request/response between the test and the app task."""

    def __init__(
        self,
        transport: StreamingASGITransport,
        scope: Scope,
        body: AsyncIterable[bytes],
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._scope = scope
        self._body: AsyncIterator[bytes] = aiter(body)
        self._timeout = timeout
        self._request_length = _content_length(scope["headers"])
        self._received = 0
        self._body_done = False  # a request without a body still gets one (empty) message
        # App -> client
        self._items: deque[_Item] = deque()
        self._buffered = 0
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        # Both directions
        self._finished = asyncio.Event()  # response complete or client gone: disconnect
        self._client_gone = False
        self._closed = False
        self._started = False
        self._complete = False
        self._expect_trailers = False
        self._app_exc: BaseException | None = None
        self._reported = False
        self._task: asyncio.Task[None] | None = None
        self.pushes: list[tuple[str, HeaderList]] = []
        self.trailers: HeaderList = []

    # -- the app's side ---------------------------------------------------------------

    async def receive(self) -> Message:
        """The app's `receive()`: body chunks, then `http.disconnect` once finished."""
        if not self._body_done and not self._finished.is_set():
            message = await self._next_body_message()
            if message is not None:
                return message
        await self._finished.wait()
        return {"type": "http.disconnect"}

    async def _next_body_message(self) -> Message | None:
        if self._request_length == 0:  # as servers do: one empty message, the body's end
            self._body_done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while True:
            chunk = await self._pull_chunk()
            if chunk is None:  # client gone while waiting
                return None
            if chunk is _End.END:
                self._body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            data = bytes(chunk)
            if not data:
                continue
            self._received += len(data)
            more = self._request_length is None or self._received < self._request_length
            if not more:
                self._body_done = True
            return {"type": "http.request", "body": data, "more_body": more}

    async def _pull_chunk(self) -> bytes | _End | None:
        async def pull() -> bytes | _End:
            return await anext(self._body, _End.END)

        puller = asyncio.ensure_future(pull())
        finisher = asyncio.ensure_future(self._finished.wait())
        try:
            await asyncio.wait({puller, finisher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not puller.done():
                puller.cancel()
            finisher.cancel()
        if puller.cancelled() or not puller.done():
            return None
        return puller.result()

    async def send(self, message: Message) -> None:
        """The app's `send()`."""
        if self._client_gone:
            raise ClientDisconnectedError("the client has closed the response")
        kind = message.get("type")
        if kind == "http.response.push":
            self._push(message)
        elif kind == "http.response.start":
            if self._started:
                raise ASGIProtocolError("http.response.start sent twice")
            status = message.get("status")
            if not isinstance(status, int) or not 100 <= status <= 999:
                raise ASGIProtocolError(f"bad status {status!r} in http.response.start")
            headers = check_headers(message.get("headers", []), "http.response.start")
            self._started = True
            self._expect_trailers = bool(message.get("trailers", False))
            self._put(("start", (status, headers)))
        elif kind in ("http.response.body", "http.response.pathsend"):
            if not self._started:
                raise ASGIProtocolError(f"{kind} sent before http.response.start")
            if self._complete:
                raise ASGIProtocolError(f"{kind} sent after the response body was complete")
            if kind == "http.response.pathsend":
                if "http.response.pathsend" not in self._scope["extensions"]:
                    raise ASGIProtocolError("http.response.pathsend was not offered")
                body: object = await asyncio.to_thread(Path(message["path"]).read_bytes)
                more = False
            else:
                body = message.get("body", b"")
                more = bool(message.get("more_body", False))
            if not isinstance(body, bytes | bytearray | memoryview):
                raise ASGIProtocolError(f"{kind} body must be bytes, got {type(body).__name__}")
            if body:
                self._put(("body", bytes(body)))
            if not more:
                self._complete = True
                if not self._expect_trailers:
                    self._end()
            await self._wait_writable()
        elif kind == "http.response.trailers":
            if not self._expect_trailers or self._finished.is_set():
                raise ASGIProtocolError("http.response.trailers not announced or too late")
            self.trailers.extend(check_headers(message.get("headers", []), kind))
            if not message.get("more_trailers", False):
                if not self._complete:
                    raise ASGIProtocolError("http.response.trailers before the body's end")
                self._end()
        else:
            raise ASGIProtocolError(f"unexpected message {kind!r} on an HTTP connection")

    def _push(self, message: Message) -> None:
        if "http.response.push" not in self._scope["extensions"]:
            raise ASGIProtocolError("http.response.push sent but the extension was not offered")
        path = message.get("path")
        if not isinstance(path, str):
            raise ASGIProtocolError(f"http.response.push path must be str, got {path!r}")
        self.pushes.append((path, check_headers(message.get("headers", []), "push")))

    def _end(self) -> None:
        self._put(("end", None))
        self._finished.set()

    def _put(self, item: _Item) -> None:
        self._items.append(item)
        if item[0] == "body":
            self._buffered += len(item[1])
        self._readable.set()

    async def _wait_writable(self) -> None:
        await asyncio.sleep(0)  # never starve the loop, even while under the limit
        while self._buffered > _BUFFER_LIMIT and not self._client_gone:
            self._writable.clear()
            await self._writable.wait()

    async def _run(self) -> None:
        try:
            await self._transport.app(self._scope, self.receive, self.send)
        except Exception as exc:
            self._app_exc = exc
            self._put(("done", exc))
        else:
            self._put(("done", None))

    # -- the client's side ------------------------------------------------------------

    async def _get(self) -> _Item:
        async def wait() -> None:
            while not self._items:
                self._readable.clear()
                await self._readable.wait()

        if self._timeout is None:
            await wait()
        else:
            try:
                async with asyncio.timeout(self._timeout):
                    await wait()
            except TimeoutError:
                raise httpx.ReadTimeout("the ASGI app sent nothing in time") from None
        item = self._items.popleft()
        if item[0] == "body":
            self._buffered -= len(item[1])
            self._writable.set()
        return item

    async def start(self, request: httpx.Request) -> httpx.Response:
        """Start the app and wait for its `http.response.start`."""
        self._task = task = asyncio.create_task(self._run(), name=f"asgi {self._scope['path']}")
        self._transport.app_tasks.add(task)
        task.add_done_callback(self._transport.app_tasks.discard)
        try:
            kind, value = await self._get()
        except BaseException:
            await self.close(raise_app_exception=False)
            raise
        if kind == "start":
            status, headers = value
            return httpx.Response(
                status,
                headers=headers,
                stream=_ResponseStream(self, status, headers),
                request=request,
                extensions={
                    "http_version": b"HTTP/1.1",
                    PUSHES_KEY: self.pushes,
                    TRAILERS_KEY: self.trailers,
                },
            )
        # The app finished without starting a response.
        await self.close(raise_app_exception=False)
        error: BaseException | None = value
        if self._transport.raise_app_exceptions:
            if error is not None:
                raise error
            raise ASGIProtocolError("the ASGI app returned without sending http.response.start")
        return httpx.Response(
            500,
            headers=[(b"content-type", b"text/plain; charset=utf-8")],
            content=b"Internal Server Error",
            request=request,
            extensions={PUSHES_KEY: self.pushes, TRAILERS_KEY: self.trailers},
        )

    async def close(self, *, raise_app_exception: bool = True) -> None:
        """The client is done: tell the app, then wait for it (bounded) or cancel it."""
        if self._closed:
            return
        self._closed = True
        if not self._finished.is_set():
            self._client_gone = True
            self._finished.set()
        self._writable.set()
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=self._transport.disconnect_timeout)
            if not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=self._transport.disconnect_timeout)
        exc = self._app_exc
        if (
            raise_app_exception
            and exc is not None
            and not self._reported
            and not isinstance(exc, ClientDisconnectedError)
            and self._transport.raise_app_exceptions
        ):
            self._reported = True
            raise exc

    async def body(self, status: int, headers: HeaderList) -> AsyncIterator[bytes]:
        """Yield the body chunks as the app sends them."""
        expected = _content_length(headers)
        if self._scope["method"] == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
            expected = None
        seen = 0
        while True:
            kind, value = await self._get()
            if kind == "body":
                seen += len(value)
                if expected is not None and seen > expected:
                    raise self._broken(f"the app sent more than content-length {expected}")
                yield value
            elif kind == "end":
                if expected is not None and seen < expected:
                    raise self._broken(f"the app sent {seen} of content-length {expected}")
                return
            elif kind == "done":
                self._reported = True
                if value is None:
                    raise self._broken("the ASGI app returned before completing the response")
                raise httpx.RemoteProtocolError(
                    f"the ASGI app raised after starting the response: {value!r}"
                ) from value

    def _broken(self, message: str) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(message)


@final
class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, exchange: _HttpExchange, status: int, headers: HeaderList) -> None:
        self._exchange = exchange
        self._status = status
        self._headers = headers

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._exchange.body(self._status, self._headers):
            yield chunk

    async def aclose(self) -> None:
        await self._exchange.close()
