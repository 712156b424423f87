"""The in-process test client: HTTP, WebSockets and lifespan for any ASGI 3 app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, MutableMapping
from types import TracebackType
from typing import Any, Self, final

import httpx
import httpx_ws
from asgi_lifespan import LifespanManager, LifespanNotSupported

from bareasgi.types import ASGIApp, Message, Scope

from ._common import HeaderList
from ._http import StreamingASGITransport
from ._websocket import DEFAULT_MAX_MESSAGE_SIZE, WebSocketSession

# asgi-lifespan's own (mutable) message types
_LifespanReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_LifespanSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LifespanStartupFailed(RuntimeError):
    """The app answered `lifespan.startup.failed`; the message is the app's."""


class LifespanShutdownFailed(RuntimeError):
    """The app answered `lifespan.shutdown.failed`; the message is the app's."""


def _sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            leaves.append(exc)
    return leaves[0] if len(leaves) == 1 else None


@final
class TestClient:
    """An async context manager that runs an ASGI app in-process for tests.

    On enter it runs lifespan startup (with asgi-lifespan) unless `lifespan=False`; a
    failing startup raises. `http` is an `httpx.AsyncClient` on a streaming transport
    (`StreamingASGITransport`): responses stream, HEAD bodies are kept, closing a
    response early disconnects the app. `raw_request` sends an exact raw path;
    `websocket_connect` opens a WebSocket through httpx-ws.

    Args:
        app: Any ASGI 3 application.
        base_url: Scheme, host and port the requests go to (`server` in the scope).
        lifespan: Run lifespan startup and shutdown.
        client: The scope's `client`.
        extensions: The scope's `extensions` (deep-copied per request).
        root_path: The scope's `root_path`.
        raise_app_exceptions: Raise what the app raises before its response starts
            (else answer 500); also raise what it raises later, when the response closes.
        headers: Default request headers.
        timeout: Seconds to wait for each piece of a response (`None`: no limit).
        startup_timeout: Seconds lifespan startup may take.
        shutdown_timeout: Seconds lifespan shutdown may take.
        disconnect_timeout: Seconds the app may run on after its client has gone.
        websocket_max_message_size: The largest message, in bytes, a WebSocket session
            receives; a larger one closes the session with 1009 (httpx-ws 0.10 and later;
            earlier versions have no limit). The default, 16 MiB, is hypercorn's own.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str = "http://testserver",
        lifespan: bool = True,
        client: tuple[str, int] | None = ("127.0.0.1", 50000),
        extensions: Mapping[str, Any] | None = None,
        root_path: str = "",
        raise_app_exceptions: bool = True,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = 30.0,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        disconnect_timeout: float = 5.0,
        websocket_max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if websocket_max_message_size < 1:
            raise ValueError("websocket_max_message_size must be at least 1 byte")
        self.app = app
        self.websocket_max_message_size = websocket_max_message_size
        """The default largest message a WebSocket session receives, in bytes."""
        self.transport = StreamingASGITransport(
            app,
            raise_app_exceptions=raise_app_exceptions,
            root_path=root_path,
            client=client,
            extensions=extensions,
            disconnect_timeout=disconnect_timeout,
        )
        self.http = httpx.AsyncClient(
            transport=self.transport, base_url=base_url, headers=headers, timeout=timeout
        )
        """The `httpx.AsyncClient`; every request runs the app in-process."""
        self._lifespan = lifespan
        self._startup_timeout = startup_timeout
        self._shutdown_timeout = shutdown_timeout
        self._timeout = timeout
        self._manager: LifespanManager | None = None
        self._state: dict[str, Any] | None = None
        self._startup_failure: str | None = None
        self._shutdown_failure: str | None = None

    @property
    def state(self) -> dict[str, Any] | None:
        """The lifespan state (the dict the app saw at startup), if lifespan ran."""
        return self._state

    # -- lifespan ---------------------------------------------------------------------

    async def _lifespan_app(
        self, scope: Scope, receive: _LifespanReceive, send: _LifespanSend
    ) -> None:
        state = scope.get("state")
        if isinstance(state, dict):
            self._state = state
        scope.setdefault("asgi", {"version": "3.0", "spec_version": "2.0"})

        answered: set[str] = set()

        async def send_reporting_failures(message: Message) -> None:
            # asgi-lifespan 2.1 only knows the `complete` messages: record the failure
            # and let it go on, so it raises at once instead of waiting for a time-out.
            kind = str(message.get("type"))
            answered.add(kind.rsplit(".", 1)[0])
            if kind == "lifespan.startup.failed":
                self._startup_failure = str(message.get("message", ""))
                message = {"type": "lifespan.startup.complete"}
            elif kind == "lifespan.shutdown.failed":
                self._shutdown_failure = str(message.get("message", ""))
                message = {"type": "lifespan.shutdown.complete"}
            await send(dict(message))

        await self.app(scope, receive, send_reporting_failures)
        # An app that returns early would leave asgi-lifespan waiting for its time-out.
        if "lifespan.startup" not in answered:
            raise LifespanNotSupported(
                "the app returned from the lifespan scope without answering "
                "lifespan.startup (use lifespan=False for apps without lifespan)"
            )
        if "lifespan.shutdown" not in answered:
            await send({"type": "lifespan.shutdown.complete"})  # nothing left to shut down

    async def __aenter__(self) -> Self:
        if self._lifespan:
            manager = LifespanManager(
                self._lifespan_app,
                startup_timeout=self._startup_timeout,
                shutdown_timeout=self._shutdown_timeout,
            )
            try:
                await manager.__aenter__()
            except BaseException as exc:
                if self._startup_failure is not None:
                    raise LifespanStartupFailed(self._startup_failure) from exc
                raise
            if self._startup_failure is not None:
                failure = LifespanStartupFailed(self._startup_failure)
                try:
                    await manager.__aexit__(LifespanStartupFailed, failure, None)
                except Exception as exc:
                    raise failure from exc
                raise failure
            self._manager = manager
            self.transport.state = self._state
        await self.http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.http.__aexit__(exc_type, exc, tb)
        finally:
            manager, self._manager = self._manager, None
            if manager is not None:
                await manager.__aexit__(exc_type, exc, tb)
                if exc_type is None and self._shutdown_failure is not None:
                    raise LifespanShutdownFailed(self._shutdown_failure)

    # -- HTTP -------------------------------------------------------------------------

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request and read the whole response (see `httpx.AsyncClient.request`)."""
        return await self.http.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET `url`."""
        return await self.http.get(url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> httpx.Response:
        """HEAD `url`; whatever body the app sends is kept."""
        return await self.http.head(url, **kwargs)

    async def options(self, url: str, **kwargs: Any) -> httpx.Response:
        """OPTIONS `url`."""
        return await self.http.options(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST to `url`."""
        return await self.http.post(url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """PUT to `url`."""
        return await self.http.put(url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """PATCH `url`."""
        return await self.http.patch(url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """DELETE `url`."""
        return await self.http.delete(url, **kwargs)

    def stream(
        self, method: str, url: str, **kwargs: Any
    ) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        """A streaming response; leaving the block early disconnects the app."""
        return self.http.stream(method, url, **kwargs)

    async def raw_request(
        self,
        method: str,
        raw_path: bytes,
        *,
        query_string: bytes = b"",
        headers: Iterable[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
    ) -> httpx.Response:
        """Send `raw_path` exactly as given (httpx would normalise `..` away); read it all.

        `path` in the scope is `raw_path` percent-decoded. A `?` in `raw_path` starts the
        query when `query_string` is empty. `host` (and `content-length` for a body) are
        added when missing.
        """
        if b"?" in raw_path and not query_string:
            raw_path, _, query_string = raw_path.partition(b"?")
        base = self.http.base_url
        header_list: HeaderList = [(name.lower(), value) for name, value in headers or ()]
        names = {name for name, _ in header_list}
        if b"host" not in names:
            header_list.insert(0, (b"host", base.netloc))
        if body and not names & {b"content-length", b"transfer-encoding"}:
            header_list.append((b"content-length", str(len(body)).encode()))
        target = raw_path + (b"?" + query_string if query_string else b"")
        try:
            url = base.copy_with(raw_path=target)
        except (httpx.InvalidURL, UnicodeDecodeError):  # httpx refuses what a server may see
            url = base
        request = httpx.Request(method, url, headers=header_list)
        scope = self.transport.http_scope(method, base, raw_path, query_string, header_list)

        async def content() -> AsyncIterator[bytes]:
            yield body

        response = await self.transport.run_http(scope, content(), request, timeout=self._timeout)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def wait_for_app_tasks(self, timeout: float = 10.0) -> None:
        """Wait until every app task this client started has finished."""
        deadline = asyncio.get_running_loop().time() + timeout
        while tasks := set(self.transport.app_tasks):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"{len(tasks)} app task(s) still running after {timeout} s")
            await asyncio.wait(tasks, timeout=left)

    # -- WebSockets -------------------------------------------------------------------

    def websocket_connect(
        self,
        path: str,
        subprotocols: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        max_message_size: int | None = None,
    ) -> contextlib.AbstractAsyncContextManager[WebSocketSession]:
        """Open a WebSocket to `path`; raises `WebSocketUpgradeError` if it is refused.

        The error's `response` is the handshake's HTTP answer: 403 when the app closed
        before accepting, or the app's own denial response. `max_message_size` overrides
        the client's `websocket_max_message_size` for this session.
        """
        limit = self.websocket_max_message_size if max_message_size is None else max_message_size
        if limit < 1:
            raise ValueError("max_message_size must be at least 1 byte")
        return self._websocket(path, list(subprotocols) if subprotocols else None, headers, limit)

    async def websocket_refusal(
        self,
        path: str,
        subprotocols: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The HTTP answer to a WebSocket handshake the app is expected to refuse."""
        try:
            async with self.websocket_connect(path, subprotocols, headers):
                pass
        except httpx_ws.WebSocketUpgradeError as refused:
            return refused.response
        raise AssertionError(f"the WebSocket handshake to {path!r} was accepted")

    @contextlib.asynccontextmanager
    async def _websocket(
        self,
        path: str,
        subprotocols: list[str] | None,
        headers: Mapping[str, str] | None,
        max_message_size: int,
    ) -> AsyncIterator[WebSocketSession]:
        to_raise: BaseException | None = None
        session: httpx_ws.AsyncWebSocketSession
        try:
            async with httpx_ws.aconnect_ws(
                path,
                self.http,
                subprotocols=subprotocols,
                # Every httpx-ws from 0.7 takes this argument: the largest message from
                # 0.10 on (its default, 64 KiB, is far below what servers accept), only the
                # read size before, when messages had no limit.
                max_message_size_bytes=max_message_size,
                keepalive_ping_interval_seconds=None,
                headers=dict(headers or {}),
            ) as session:
                yield WebSocketSession(session)
        except BaseExceptionGroup as group:
            # httpx-ws's task group wraps what goes through it; hand back a lone error.
            to_raise = _sole_exception(group)
            if to_raise is None:
                raise
        if to_raise is not None:
            raise to_raise
