"""The HTTP hot path: the lazy request body, checking a handler's response and sending it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine
from types import AsyncGeneratorType
from typing import Any, Final, Protocol, final

from .errors import ClientDisconnected, HttpError
from .headers import LOWER_TOKEN_PATTERN
from .plugins import APP_KEY
from .streaming import BytesBody, ChunkedBody
from .types import Headers, Message, Receive, Scope, Send

LOGGER: Final = logging.getLogger("bareasgi")

ROUTE_KEY: Final = "bareasgi.route"
"""Scope key holding the matched `Route` (its `.template` labels metrics); absent on a 404."""

DEFAULT_MAX_BODY_SIZE: Final = 10 * 1024 * 1024

# RFC 9110 field names (we require ASGI's lower case) and values without CR, LF or NUL.
_NAME_OK: Final = re.compile(LOWER_TOKEN_PATTERN.encode()).fullmatch
_VALUE_BAD: Final = re.compile(rb"[\r\n\x00]").search
_NO_BODY_STATUS: Final = frozenset({204, 304})


class ResponseError(Exception):
    """A handler returned something that is not a response."""


YIELD_CHUNKS: Final = 128
_SIZE_SHIFT: Final = 14
YIELD_BYTES: Final = YIELD_CHUNKS << _SIZE_SHIFT
"""A streamed body gives the event loop a turn before sending more once the chunks sent since
the last turn weigh `YIELD_CHUNKS`, a chunk weighing one plus one for every full 16 KiB
(`1 + (size >> _SIZE_SHIFT)`): so at most `YIELD_CHUNKS` chunks, and at most `YIELD_BYTES`
(2 MiB) bytes, go between two turns (see `_stream`); after a disconnect, at most that much more
is produced. One small-int sum per chunk costs less than a count and a byte total (whose
values are not small ints: each sum is an allocation); 16 chunks of 64 KiB weigh 80 and go out
with no turn."""


def chunks_between_turns(size: int) -> int:
    """How many chunks of `size` bytes the yield policy sends between two turns of the loop."""
    return -(-YIELD_CHUNKS // (1 + (size >> _SIZE_SHIFT)))


_UNREAD: Final = -1
_LAST: Final = -2
"""The last message was read, its chunk handed out: the next read ends the iteration."""
_ENDED: Final = -3
_BODY_FRAMING: Final = frozenset((b"content-length", b"transfer-encoding"))

Cleanup = Callable[[], object]
"""A clean-up callback: returns nothing, or an awaitable that core awaits."""


class _Expiring(Protocol):
    """A request time limit, as the request body knows it."""

    @property
    def expired(self) -> bool: ...


@final
class RequestBody:
    """The request body, read from `receive()` only when iterated: a handler's `content`.

    It is also the request's one channel to `receive()`: while a streamed response is sent, a
    watcher (`watch`) becomes the only caller of `receive()`, passes the body messages it meets
    on to this object for a reader that may still come, and tells the responding task when the
    client goes away. And it holds the request's clean-ups (`add_cleanup`), run once the
    response is over, however it ended.

    Iterating it (it is its own async iterator) yields the body's chunks; more than the body
    limit (by content-length, or counted as they arrive) raises `HttpError(413)` before the
    rest is read; an invalid content-length raises `HttpError(400)`; a client that goes away
    raises `ClientDisconnected`. A second `async for` goes on where the first stopped (and
    finds nothing once the body was read to its end, or failed).

    Made for every request, and most handlers never read it: `__init__` sets six slots and
    nothing else (the limit, when not given, is found when first needed); the watcher's state
    is made when first needed. (`__anext__` costs less per chunk than an async generator's
    step.)
    """

    __slots__ = (
        "_limit",
        "_read",
        "_runner",
        "_watcher",
        "cleanups",
        "receive",
        "scope",
        "time_limit",
    )
    _watcher: _Watcher
    _runner: asyncio.Task[None] | None
    time_limit: _Expiring
    """The request's time limit, when its route has one (see `bareasgi._guard`)."""

    def __init__(self, scope: Scope, receive: Receive, limit: int | None = None) -> None:
        self.scope = scope
        self.receive = receive
        """What the body reads messages from: the server's `receive`, or, while a response
        streams, the watcher's hand-over."""
        self._limit = limit
        self.cleanups: list[Cleanup] | None = None
        """The clean-ups to run when the response is over (see `add_cleanup`)."""
        self._read = _UNREAD
        self._runner = None

    @property
    def limit(self) -> int:
        """The request body limit in bytes: the route's `max_body_size`, or the application's
        (or the limit given when the body was made)."""
        limit = self._limit
        if limit is None:
            limit = self._limit = body_limit(self.scope)
        return limit

    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        read = self._read
        if read < 0:
            if read != _UNREAD:
                raise StopAsyncIteration
            self._check_length()
            read = 0
        while True:
            message = await self.receive()  # (looked up each time: the watcher may take over)
            kind = message["type"]
            if kind != "http.request":
                self._read = _ENDED
                if kind == "http.disconnect":
                    raise ClientDisconnected
                raise StopAsyncIteration
            chunk: bytes = message.get("body", b"")
            read += len(chunk)
            if read > (self._limit or self.limit):
                self._read = _ENDED
                raise _too_large(self.limit)
            self._read = read if message.get("more_body", False) else _LAST
            if chunk:
                return chunk
            if self._read == _LAST:
                self._read = _ENDED
                raise StopAsyncIteration

    def _check_length(self) -> None:
        for name, value in self.scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    self._read = _ENDED
                    raise HttpError(400, b"Invalid content-length") from None
                if declared > self.limit:
                    self._read = _ENDED
                    raise _too_large(self.limit)

    async def aclose(self) -> None:
        """Stop reading: the rest of the body is left unread."""
        self._read = _ENDED

    def _nothing_left(self) -> bool:
        """Whether the body was read to its end, or the request has none: then no reader will
        call `receive()`, and a watcher can start late without two callers at once.

        An HTTP/1 request with neither content-length nor transfer-encoding has no body (RFC
        9112 6.3); it is marked read.
        """
        read = self._read
        if read != _UNREAD:
            return read <= _LAST  # _LAST or _ENDED
        if self.scope.get("http_version", "1.1") not in ("1.1", "1.0"):
            return False
        for name, _ in self.scope["headers"]:
            if name in _BODY_FRAMING:
                return False
        self._read = _ENDED
        return True

    @property
    def expired(self) -> bool:
        """True once the request's time limit passed (its task was cancelled for it)."""
        limit: _Expiring | None = getattr(self, "time_limit", None)
        return limit is not None and limit.expired

    @property
    def disconnected(self) -> bool:
        """True once a streamed response's watcher saw the client go away."""
        watcher: _Watcher | None = getattr(self, "_watcher", None)
        return watcher is not None and watcher.disconnected

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """Run `cleanup()` once the response is over: sent, failed, or the client gone.

        For what a request leaves behind (temporary files of an upload, a decompressor):
        clean-ups run in the order added, each once, an awaitable result awaited; one that
        raises is logged and the others still run.
        """
        if self.cleanups is None:
            self.cleanups = []
        self.cleanups.append(cleanup)

    async def run_cleanups(self) -> None:
        """Run the clean-ups added so far (core calls this when the response is over)."""
        cleanups, self.cleanups = self.cleanups, None
        for cleanup in cleanups or ():
            try:
                result = cleanup()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                LOGGER.exception("A request clean-up failed: %r", cleanup)

    def watch(self, task: asyncio.Task[Any]) -> asyncio.Task[None]:
        """Start watching for the client going away while a response streams.

        The watcher task becomes the only caller of the server's `receive()`: it cancels
        `task` (the responding task) when the client goes away, and keeps the body messages it
        meets, up to the body limit, for the body's reader, which takes them from it from now
        on. One task per streamed response. It starts eagerly: when this returns it is waiting
        on `receive()`, or it has found the client gone already (`disconnected`), in which
        case it cancelled nothing (the caller may be `task` itself, running).
        """
        watcher = _Watcher(self.receive, self.limit)
        self._watcher = watcher
        self.receive = watcher.take
        runner = asyncio.Task(watcher.run(), loop=asyncio.get_running_loop(), eager_start=True)
        self._runner = runner
        if not watcher.disconnected:
            watcher.task = task
        return runner

    def rearm(self, task: asyncio.Task[Any]) -> bool:
        """Have the running watcher cancel `task` when the client goes away (from now on);
        False when it has gone already."""
        watcher = self._watcher
        if watcher.disconnected:
            return False
        watcher.task = task
        return True

    def disarm(self) -> None:
        """The watcher goes on reading `receive()` but cancels nothing when the client goes."""
        if self._runner is not None:
            self._watcher.task = None

    def stop_watching(self) -> None:
        """Cancel the watcher: it ends at the loop's next turn, never calling `receive()`
        again and never cancelling its task (which is no longer waiting)."""
        runner = self._runner
        if runner is not None:
            self._watcher.task = None
            if not runner.done():
                runner.cancel()


@final
class _Watcher:
    """Watches `receive()` beside a streamed response; hands body messages to the reader."""

    __slots__ = ("disconnected", "limit", "messages", "queued", "receive", "task", "wake")

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.task: asyncio.Task[Any] | None = None
        """The responding task, cancelled when the client goes away (once it is set)."""
        self.limit = limit
        self.messages = deque[Message]()
        self.queued = 0
        self.wake = asyncio.Event()
        self.disconnected = False

    async def run(self) -> None:
        while True:
            message = await self.receive()
            kind = message["type"]
            if kind == "http.request":
                size = len(message.get("body", b""))
                if self.queued + size <= self.limit:
                    self.put(message, size)
                elif not message.get("more_body", False):
                    self.put(message, 0)  # keep the end marker so a reader finishes
            elif kind == "http.disconnect":
                self.disconnected = True
                self.put(message, 0)
                if self.task is not None:
                    self.task.cancel()
                return

    def put(self, message: Message, size: int) -> None:
        self.messages.append(message)
        self.queued += size
        self.wake.set()

    async def take(self) -> Message:
        while not self.messages:
            self.wake.clear()
            await self.wake.wait()
        message = self.messages.popleft()
        self.queued -= len(message.get("body", b""))
        return message


def body_limit(scope: Scope) -> int:
    """The request body limit for a request: its route's `max_body_size`, or its application's.

    For middleware that reads or decodes the body itself (and must hold it to the same limit);
    a scope no application has seen yet has the default limit.
    """
    route = scope.get(ROUTE_KEY)
    if route is not None and route.max_body_size is not None:
        limit: int = route.max_body_size
        return limit
    app = scope.get(APP_KEY)
    return app.max_body_size if app is not None else DEFAULT_MAX_BODY_SIZE


def describe(route: Any, scope: Scope) -> str:
    """Name the handler behind a route for a log line."""
    if route is None:
        return f"the error handler for {scope.get('method', '')} {scope.get('path', '')}"
    handler = route.handler
    name = getattr(handler, "__qualname__", None) or repr(handler)
    module = getattr(handler, "__module__", None)
    return f"handler {module + '.' if module else ''}{name} for route {route.template!r}"


def _too_large(limit: int) -> HttpError:
    return HttpError(
        413,
        f"Request body larger than {limit} bytes".encode(),
        [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
    )


_NO_IDS: Final[dict[int, tuple[bytes, bytes]]] = {}
CHECKED_MAX: Final = 4096
"""How many checked header pairs an application remembers (see `HeaderMemory`)."""


@final
class HeaderMemory:
    """Response header pairs an application found valid, so that the fast path need not check
    them again: by identity (the very tuple objects, usually constants in handlers' code; the
    memory keeps them alive, so an id found here is that object) and by value (pairs built
    anew for each answer). Only tuples of two exact `bytes` that passed the rule are kept, so
    what it holds never changes what is valid. Each application has its own."""

    __slots__ = ("ids", "values")

    def __init__(self) -> None:
        self.ids: dict[int, tuple[bytes, bytes]] = {}
        self.values: set[tuple[bytes, bytes]] = set()

    def remember(self, header: tuple[bytes, bytes]) -> None:
        """Keep a pair found valid; both memories are bounded by `CHECKED_MAX`."""
        ids = self.ids
        if len(ids) >= CHECKED_MAX:  # pairs made per answer would fill it: start afresh
            ids.clear()
        ids[id(header)] = header
        if len(self.values) < CHECKED_MAX:
            self.values.add(header)

    def knows(self, header: object) -> bool:
        """Whether `header` is a pair found valid before (of the exact types)."""
        if id(header) in self.ids:
            return True
        try:
            return (
                type(header) is tuple
                and header in self.values
                and type(header[0]) is bytes
                and type(header[1]) is bytes
            )
        except TypeError:  # unhashable
            return False


_LENGTHS: Final[dict[int, bytes]] = {}
_LENGTHS_MAX: Final = 65536
_LENGTH_HEADERS_MAX: Final = 16384
_LENGTH_HEADERS: Final[list[tuple[bytes, bytes] | None]] = [None] * _LENGTH_HEADERS_MAX
"""Whole `(b"content-length", value)` headers, indexed by size, made as first needed: the fast
path indexes a list (cheaper than a dict look-up); larger sizes go through `_length_header`."""


def content_length(size: int) -> bytes:
    """`size` as a content-length value; small sizes are kept once made."""
    value = _LENGTHS.get(size)
    if value is None:
        value = str(size).encode()
        if size < _LENGTHS_MAX:
            _LENGTHS[size] = value
    return value


def _length_header(size: int) -> tuple[bytes, bytes]:
    """The content-length header for `size`; small sizes are kept once made."""
    if size >= _LENGTH_HEADERS_MAX:
        return (b"content-length", content_length(size))
    header = _LENGTH_HEADERS[size]
    if header is None:
        header = _LENGTH_HEADERS[size] = (b"content-length", content_length(size))
    return header


# ---- the rule: what a response may be -------------------------------------------------------
#
# A final status is an int from 200 to 599 (a 1xx is not a final answer: h11 refuses to send
# one as such). Headers are a list (or tuple) of pairs whose name and value are exactly
# `bytes`, the name a lower-case RFC 9110 token, the value without CR, LF or NUL; content-length
# is the application's to set only with a body it matches. The body is bytes (or bytearray,
# memoryview), `bytes_writer`/`text_writer`'s bodies, or an async iterable of bytes.
#
# `check_headers` and `unpack_response` are the rule; `fast_response` is the fast path for the
# common shapes and must agree with them on every input (a property test feeds both the same
# responses). Header pairs found valid are remembered in a set owned by the application, never
# shared between applications; a pair is only remembered when it is a `tuple` of two exact
# `bytes`, and a look-up in that set is trusted only for a pair of the same exact types, so
# what the set holds never changes what is valid.


def check_headers(headers: Any, checked: HeaderMemory | None) -> tuple[Headers, bytes | None]:
    """Validate response headers; return them (a new list) and the content-length, if any.

    Valid pairs are added to `checked` (bounded by `CHECKED_MAX`), the application's memory of
    pairs already found valid, which `fast_response` consults.

    Raises:
        ResponseError: naming the first header that breaks the rule.
    """
    if not isinstance(headers, (list, tuple)):
        raise ResponseError(
            f"headers must be a list of (bytes, bytes), not {type(headers).__name__}"
        )
    headers = [*headers]  # the answer's own list: never one a handler keeps and reuses
    declared: bytes | None = None
    ids = checked.ids if checked is not None else _NO_IDS
    for header in headers:
        if id(header) in ids or (checked is not None and checked.knows(header)):
            continue
        try:
            name, value = header
        except (TypeError, ValueError):
            raise ResponseError(f"header {header!r} is not a (bytes, bytes) pair") from None
        if type(name) is not bytes or type(value) is not bytes:
            raise ResponseError(f"header {header!r} is not a (bytes, bytes) pair")
        if _NAME_OK(name) is None:
            raise ResponseError(f"header name {name!r} is not a lower-case field name")
        if _VALUE_BAD(value) is not None:
            raise ResponseError(f"header {name.decode('latin-1')} has CR, LF or NUL in its value")
        if name == b"content-length":
            if declared is not None and value != declared:
                raise ResponseError("content-length is given twice, with different values")
            declared = value
        elif checked is not None and type(header) is tuple:
            checked.remember(header)
    return headers, declared


def _check_length(declared: bytes, size: int) -> None:
    """A whole body's content-length must be its size, as any other header must be right."""
    if not (declared.isdigit() and int(declared) == size):
        raise ResponseError(
            f"content-length {declared.decode('latin-1')!r} does not match the body's {size} bytes"
        )


def unpack_response(response: Any) -> tuple[int, Any, Any, Any]:
    """Split a handler's answer into status, headers, body and pushes.

    Raises:
        ResponseError: not 1 to 4 elements, or a status that is not an int from 200 to 599.
    """
    if type(response) is tuple:
        size = len(response)
        if size == 4:
            status, headers, body, pushes = response
        elif size == 3:
            status, headers, body = response
            pushes = None
        elif size == 2:
            status, headers = response
            body = pushes = None
        elif size == 1:
            status = response[0]
            headers = body = pushes = None
        else:
            raise ResponseError(f"a response tuple has 1 to 4 elements, not {size}")
    else:
        status = response
        headers = body = pushes = None
    if type(status) is not int:
        if not isinstance(status, int) or isinstance(status, bool):
            raise ResponseError(f"the status must be an int, not {type(status).__name__}")
        status = int(status)
    if not 200 <= status <= 599:
        raise ResponseError(f"the status {status} is not a final status (200 to 599)")
    return status, headers, body, pushes


def fast_response(response: Any, checked: HeaderMemory) -> tuple[int, Headers, bytes] | None:
    """The common answers, ready to send: `(status, headers with content-length, body)`.

    Takes `(status, headers)` and `(status, headers, body)` with a whole body (`bytes`, or
    `text_writer`/`bytes_writer`'s) and headers all found valid before (`checked`); returns
    None for anything else, which then takes the general path (`unpack_response`,
    `send_response`). Whatever it returns is exactly what the general path would send.
    """
    if type(response) is not tuple:
        return None
    if len(response) == 3:  # the usual answer
        status, headers, body = response
    elif len(response) == 2:
        status, headers = response
        body = None
    else:
        return None
    if type(body) is BytesBody:
        data = body[0]
    elif type(body) is bytes:
        data = body
    elif body is None:
        data = b""
    else:
        return None
    if type(status) is not int or not 200 <= status <= 599 or type(headers) is not list:
        return None
    # A pair is known by identity (this very object was checked) or, failing that, by value,
    # trusted only for a tuple of exact bytes: anything merely equal to a remembered pair (a
    # bytes subclass, a bytearray) is checked by the general path. One header (the usual
    # answer) is tested without a loop.
    ids = checked.ids
    if len(headers) == 1:
        header = headers[0]
        if id(header) not in ids and not checked.knows(header):
            return None
    else:
        for header in headers:
            if id(header) not in ids and not checked.knows(header):
                return None
    if status == 204 or status == 304:
        return status, [*headers], data
    try:  # indexing a list costs less than a dict look-up
        length = _LENGTH_HEADERS[len(data)] or _length_header(len(data))
    except IndexError:
        length = _length_header(len(data))
    return status, [*headers, length], data


def final_status(response: Any, method: str = "GET") -> int:
    """The status core sends for a handler's `response` to a `method` request: its own, or 500
    when core refuses it.

    For middleware that reports what was answered (metrics, logs) without re-deriving the
    rule. It checks the status, the headers, the kind of body and a whole body's
    content-length; an async-iterable body can still fail later, while it streams.
    """
    try:
        status, headers, body, _ = unpack_response(response)
        declared = check_headers(headers, None)[1] if headers is not None else None
        if body is not None and not isinstance(body, (bytes, bytearray, memoryview, AsyncIterable)):
            return 500
        if declared is not None and status not in _NO_BODY_STATUS and method != "HEAD":
            if body is None or isinstance(body, (bytes, bytearray, memoryview)):
                _check_length(declared, len(body) if body is not None else 0)
            elif type(body) is BytesBody:
                _check_length(declared, len(body[0]))
            elif type(body) is ChunkedBody:
                _check_length(declared, body.length)
    except ResponseError:
        return 500
    return status


def send_response(
    scope: Scope,
    content: RequestBody,
    send: Send,
    status: int,
    headers: Any,
    body: Any,
    pushes: Any,
    source: Any,
    checked: HeaderMemory | None = None,
) -> Awaitable[None]:
    """Check one response, and return what sends it (await it); streamed bodies stop when the
    client goes away.

    `content` is the request's body and channel to `receive()`, watched while a body streams;
    `checked` is the application's memory of valid header pairs (see `check_headers`). The
    checks run before this returns, and the sending is a coroutine of its own kind of body:
    no coroutine of this function's own sits between the caller and the stream.

    Raises:
        ResponseError: the response breaks the rule (nothing was sent).
    """
    declared: bytes | None
    if headers is None:
        headers = []
        declared = None
    else:
        headers, declared = check_headers(headers, checked)

    data: bytes | None
    body_type = type(body)
    if body_type is AsyncGeneratorType:  # the article's stream: first, it is the slow path
        data = None
    elif body_type is BytesBody:
        data = body[0]
    elif body is None:
        data = b""
    elif body_type is bytes or isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
    else:
        data = None
        if body_type is ChunkedBody and status not in _NO_BODY_STATUS:
            if declared is None:
                headers = [*headers, (b"content-length", str(body.length).encode())]
            elif scope["method"] != "HEAD":
                _check_length(declared, body.length)
        elif body_type is not AsyncGeneratorType and not isinstance(body, AsyncIterable):
            raise ResponseError(
                f"the body must be bytes or an async iterable of bytes, not {body_type.__name__}"
            )

    if data is not None and status not in _NO_BODY_STATUS:
        if declared is None:
            headers = [*headers, (b"content-length", content_length(len(data)))]
        elif scope["method"] != "HEAD":  # HEAD: the length of the body it does not send
            _check_length(declared, len(data))

    sending: Coroutine[Any, Any, None]
    if data is not None:
        sending = _send_whole(send, status, headers, b"" if scope["method"] == "HEAD" else data)
    elif scope["method"] == "HEAD":
        sending = _send_head(send, status, headers, body)
    elif body_type is ChunkedBody:
        sending = _send_chunked(send, status, headers, body)
    else:
        sending = _stream(scope, content, send, status, headers, body, source)
    if pushes:
        return _after_pushes(scope, send, pushes, sending)
    return sending


async def _send_whole(send: Send, status: int, headers: Headers, data: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _send_head(send: Send, status: int, headers: Headers, body: object) -> None:
    await _close_iterable(body)
    await _send_whole(send, status, headers, b"")


async def _send_chunked(send: Send, status: int, headers: Headers, body: ChunkedBody) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    for chunk in body.iter_chunks():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _after_pushes(
    scope: Scope, send: Send, pushes: Any, sending: Coroutine[Any, Any, None]
) -> None:
    try:
        await _send_pushes(scope, send, pushes)
    except BaseException:
        sending.close()  # never awaited: closed, or Python warns of it
        raise
    await sending


async def _stream(
    scope: Scope,
    content: RequestBody,
    send: Send,
    status: int,
    headers: Headers,
    body: AsyncIterable[bytes],
    source: Any,
    lazy: bool = True,
) -> None:
    """Send a body chunk by chunk while watching for the client going away.

    Servers such as hypercorn report a disconnect only through `receive()`, so a watcher task
    waits on it (`RequestBody.watch`) from the first turn of the event loop during the
    stream (from the start when the request body may still be read: then it must be the only
    caller of `receive()` at once): the body iterator blocked awaiting its source, or the turn
    this gives the loop before sending more once `YIELD_CHUNKS` chunks or `YIELD_BYTES` bytes
    went since the last (servers make `send` return at once after a disconnect, so a body
    that never awaits would otherwise never let anyone notice). When the client goes away the
    watcher cancels this task, which is sending; the body iterator is then closed (its
    `finally` runs) and nothing more is sent. A body that neither blocks nor reaches the first
    turn (a short in-memory generator) is sent with no task at all.

    `lazy=False` starts the watcher at once: the general way, which the lazy one must match
    (a property test runs both).
    """
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
    except OSError:  # ASGI 2.4: send raises once the client has gone
        await _close_iterable(body)
        return
    task = asyncio.current_task()
    assert task is not None
    waiting: dict[RequestBody, asyncio.Task[Any]] | None = None
    if content._runner is not None:  # watched already, while the handler ran
        if not content.rearm(task):  # the client has gone already
            await _close_iterable(body)
            return
    elif lazy and content._nothing_left():
        waiting = _watch_at_the_next_turn(content, task)
    else:  # a reader may still call receive(): the watcher must be the only caller from now
        content.watch(task)
        if content.disconnected:  # the client has gone already
            await _close_iterable(body)
            content.stop_watching()
            return
    try:
        iterator = aiter(body)
        spent = 0  # the weight sent since the loop's last turn (see YIELD_CHUNKS)
        try:
            async for chunk in iterator:
                if type(chunk) is not bytes or not chunk:
                    if not isinstance(chunk, (bytes, bytearray, memoryview)):
                        raise ResponseError(f"the body yielded {type(chunk).__name__}, not bytes")
                    if not chunk:
                        continue
                    chunk = bytes(chunk)
                if spent >= YIELD_CHUNKS:
                    # The loop's turn, and the watcher's (started by then), should the client
                    # have gone: servers make `send` return at once after a disconnect, so a
                    # body that never awaits would otherwise never let anyone notice.
                    spent = 0
                    await asyncio.sleep(0)
                spent += 1 + (len(chunk) >> _SIZE_SHIFT)
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # ASGI 2.4: send raises once the client has gone
                    raise _ClientGone from None
        except BaseException:
            await _close_iterable(iterator)
            raise
        if type(iterator) is not AsyncGeneratorType:  # a finished generator is closed
            await _close_iterable(iterator)
        try:
            await send({"type": "http.response.body", "body": b""})
        except OSError:
            raise _ClientGone from None
    except asyncio.CancelledError:
        # Ours when the client left (the watcher's) or the time limit passed; anyone else's
        # is passed on.
        if not ((content.disconnected or content.expired) and task.uncancel() == 0):
            raise
        if content.disconnected:  # a normal event
            LOGGER.debug(
                "%s: the client went away while the body streamed", describe(source, scope)
            )
        else:
            LOGGER.warning(
                "%s: the time limit passed while the body streamed: cut off",
                describe(source, scope),
            )
    except _ClientGone:
        pass
    except ClientDisconnected:
        # The body read the request body and met the client leaving: a normal event.
        LOGGER.debug("%s: the client went away while the body streamed", describe(source, scope))
    except Exception as error:
        # Headers are gone: the only honest answer is to end the connection, which servers do
        # when an application returns without finishing its response.
        LOGGER.error(
            "%s failed while streaming its response body", describe(source, scope), exc_info=error
        )
    finally:
        if waiting is not None:
            waiting.pop(content, None)
        if content._runner is not None:
            content.stop_watching()


@final
class _NextTurn:
    """The streams of one event loop that wait for its next turn to start their watchers.

    One callback per loop turn for all of them, never cancelled (a stream that ends first just
    leaves the list): a `call_soon` and a cancelled handle per stream cost more than all the
    rest of a short stream.
    """

    __slots__ = ("loop", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[RequestBody, asyncio.Task[Any]] = {}

    def run(self) -> None:
        if _NEXT_TURN.get(self.loop) is self:
            del _NEXT_TURN[self.loop]  # streams from now on wait for the turn after this one
        for content, task in self.waiting.items():
            content.watch(task)
            if content.disconnected:  # gone already: the task waits, so it can be cancelled
                task.cancel()
        self.waiting.clear()


_NEXT_TURN: Final[dict[asyncio.AbstractEventLoop, _NextTurn]] = {}


def _watch_at_the_next_turn(
    content: RequestBody, task: asyncio.Task[Any]
) -> dict[RequestBody, asyncio.Task[Any]]:
    """Start `content`'s watcher at the loop's next turn, which comes only when the body
    blocks awaiting its source or the stream gives the loop its turn; returns the list to
    leave when the stream ends first."""
    loop = task.get_loop()
    turn = _NEXT_TURN.get(loop)
    if turn is None:
        turn = _NEXT_TURN[loop] = _NextTurn(loop)
        loop.call_soon(turn.run)
    turn.waiting[content] = task
    return turn.waiting


class _ClientGone(Exception):
    """The server said, by raising from `send`, that the client has gone."""


async def _close_iterable(body: object) -> None:
    close = getattr(body, "aclose", None)
    if close is not None:
        await close()


async def _send_pushes(scope: Scope, send: Send, pushes: Any) -> None:
    extensions = scope.get("extensions")
    if not extensions or "http.response.push" not in extensions:
        return
    for push in pushes:
        try:
            path, push_headers = push
            push_headers, _ = check_headers(push_headers, None)
        except (TypeError, ValueError):
            raise ResponseError(f"push {push!r} is not a (path, headers) pair") from None
        if not isinstance(path, str):
            raise ResponseError(f"push path {path!r} is not a str")
        await send({"type": "http.response.push", "path": path, "headers": push_headers})
