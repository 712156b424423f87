"""The HTTP hot path: the lazy request body, checking a handler's response and sending it."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Final, final

from .errors import ClientDisconnected, HttpError
from .streaming import BytesBody, ChunkedBody
from .types import Headers, Message, Receive, Scope, Send

LOGGER: Final = logging.getLogger("bareasgi")

DEFAULT_MAX_BODY_SIZE: Final = 10 * 1024 * 1024

# RFC 9110 field names (we require ASGI's lower case) and values without CR, LF or NUL.
_NAME_OK: Final = re.compile(rb"[!#$%&'*+.^_`|~0-9a-z-]+").fullmatch
_VALUE_BAD: Final = re.compile(rb"[\r\n\x00]").search
_NO_BODY_STATUS: Final = frozenset({204, 304})


class ResponseError(Exception):
    """A handler returned something that is not a response."""


PUMP_KEY: Final = "bareasgi.body_pump"
"""Scope key, internal: while a streamed response is watched for a disconnect, the watcher is
the only caller of `receive()` and the request body reads the messages it passes on from here."""


async def request_body(scope: Scope, receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body as an async iterator of bytes, read from `receive()` only when asked.

    More than `limit` bytes (by content-length, or counted as they arrive) raises
    `HttpError(413)` before the rest is read; an invalid content-length raises `HttpError(400)`;
    a client that goes away raises `ClientDisconnected`.

    Made on every request, and most handlers never read it: an async generator object costs
    less to make than an instance of any class, and its code runs only when it is iterated.
    """
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise HttpError(400, b"Invalid content-length") from None
            if declared > limit:
                raise _too_large(limit)
    read = 0
    while True:
        pump: _Pump | None = scope.get(PUMP_KEY)
        message = await receive() if pump is None else await pump.take()
        kind = message["type"]
        if kind != "http.request":
            if kind == "http.disconnect":
                raise ClientDisconnected
            return
        chunk: bytes = message.get("body", b"")
        read += len(chunk)
        if read > limit:
            raise _too_large(limit)
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def wait_for_disconnect(scope: Scope, receive: Receive, limit: int) -> None:
    """Return when the client disconnects; runs beside a streaming response.

    It becomes the only caller of `receive()`: body messages it meets are kept for a request
    body that may still be read, up to the body limit, beyond which they are dropped.
    """
    pump = scope.get(PUMP_KEY)
    if pump is None:
        pump = scope[PUMP_KEY] = _Pump()
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            size = len(message.get("body", b""))
            if pump.size + size <= limit:
                pump.put(message, size)
            elif not message.get("more_body", False):
                pump.put(message, 0)  # keep the end marker so readers finish
        elif kind == "http.disconnect":
            pump.put(message, 0)
            return


@final
class _Pump:
    """Body messages read by the disconnect watcher, waiting for the body's reader."""

    __slots__ = ("messages", "size", "wake")

    def __init__(self) -> None:
        self.messages = deque[Message]()
        self.size = 0
        self.wake = asyncio.Event()

    def put(self, message: Message, size: int) -> None:
        self.messages.append(message)
        self.size += size
        self.wake.set()

    async def take(self) -> Message:
        while not self.messages:
            self.wake.clear()
            await self.wake.wait()
        message = self.messages.popleft()
        self.size -= len(message.get("body", b""))
        return message


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


CHECKED_MAX: Final = 4096
"""How many checked header pairs an application remembers (see `check_headers`)."""

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


def check_headers(headers: Any, checked: set[tuple[bytes, bytes]] | None) -> tuple[Headers, bool]:
    """Validate response headers; say whether content-length is among them.

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
    has_length = False
    for header in headers:
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
            has_length = True
        elif checked is not None and type(header) is tuple and len(checked) < CHECKED_MAX:
            checked.add(header)
    return headers, has_length


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


def fast_response(
    response: Any, checked: set[tuple[bytes, bytes]]
) -> tuple[int, Headers, bytes] | None:
    """The common answers, ready to send: `(status, headers with content-length, body)`.

    Takes `(status, headers)` and `(status, headers, body)` with a whole body (`bytes`, or
    `text_writer`/`bytes_writer`'s) and headers all found valid before (`checked`); returns
    None for anything else, which then takes the general path (`unpack_response`,
    `send_response`). Whatever it returns is exactly what the general path would send.
    """
    if type(response) is not tuple:
        return None
    size = len(response)
    if size == 3:
        status, headers, body = response
        body_type = type(body)
        if body_type is BytesBody:
            data = body[0]
        elif body_type is bytes:
            data = body
        elif body is None:
            data = b""
        else:
            return None
    elif size == 2:
        status, headers = response
        data = b""
    else:
        return None
    if type(status) is not int or not 200 <= status <= 599 or type(headers) is not list:
        return None
    try:
        for header in headers:
            # A hit is trusted only for a tuple of exact bytes: anything merely equal to a
            # remembered pair (a bytes subclass, a bytearray) is checked by the general path.
            if (
                header not in checked
                or type(header) is not tuple
                or type(header[0]) is not bytes
                or type(header[1]) is not bytes
            ):
                return None
    except TypeError:  # an unhashable header: the general path says what is wrong
        return None
    if status == 204 or status == 304:
        return status, [*headers], data
    size = len(data)
    try:  # indexing a list costs less than a dict look-up
        length = _LENGTH_HEADERS[size] or _length_header(size)
    except IndexError:
        length = _length_header(size)
    return status, [*headers, length], data


def final_status(response: Any) -> int:
    """The status core sends for a handler's `response`: its own, or 500 when core refuses it.

    For middleware that reports what was answered (metrics, logs) without re-deriving the
    rule. It checks the status, the headers and the kind of body; an async-iterable body can
    still fail later, while it streams.
    """
    try:
        status, headers, body, _ = unpack_response(response)
        if headers is not None:
            check_headers(headers, None)
        if body is not None and not isinstance(body, (bytes, bytearray, memoryview, AsyncIterable)):
            return 500
    except ResponseError:
        return 500
    return status


async def send_response(
    scope: Scope,
    receive: Receive,
    send: Send,
    limit: int,
    status: int,
    headers: Any,
    body: Any,
    pushes: Any,
    source: Any,
    checked: set[tuple[bytes, bytes]] | None = None,
) -> None:
    """Check and send one response; streamed bodies stop when the client goes away.

    `receive` and `limit` are the request's, for the request body while a response streams;
    `checked` is the application's memory of valid header pairs (see `check_headers`).

    Raises:
        ResponseError: the response breaks the rule (nothing was sent).
    """
    if headers is None:
        headers = []
        has_length = False
    else:
        headers, has_length = check_headers(headers, checked)

    data: bytes | None
    body_type = type(body)
    if body_type is BytesBody:
        data = body[0]
    elif body is None:
        data = b""
    elif body_type is bytes or isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
    else:
        data = None
        if body_type is ChunkedBody and not has_length and status not in _NO_BODY_STATUS:
            headers = [*headers, (b"content-length", str(body.length).encode())]
        elif not isinstance(body, AsyncIterable):
            raise ResponseError(
                f"the body must be bytes or an async iterable of bytes, not {body_type.__name__}"
            )

    if data is not None and not has_length and status not in _NO_BODY_STATUS:
        headers = [*headers, (b"content-length", content_length(len(data)))]

    if pushes:
        await _send_pushes(scope, send, pushes)

    if data is not None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope["method"] == "HEAD":
            data = b""
        await send({"type": "http.response.body", "body": data})
        return

    if scope["method"] == "HEAD":
        await _close_iterable(body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return

    if body_type is ChunkedBody:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for chunk in body.iter_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return

    await _stream(scope, receive, send, limit, status, headers, body, source)


async def _stream(
    scope: Scope,
    receive: Receive,
    send: Send,
    limit: int,
    status: int,
    headers: Headers,
    body: AsyncIterable[bytes],
    source: Any,
) -> None:
    """Send a body chunk by chunk while watching for the client going away.

    Servers such as hypercorn report a disconnect only through `receive()`, so a watcher task
    waits on it; when it fires, the pump is cancelled, which closes the body iterator (its
    `finally` runs) and nothing more is sent.
    """
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
    except OSError:  # ASGI 2.4: send raises once the client has gone
        await _close_iterable(body)
        return
    # From here the watcher alone calls receive(); a request body still being read (by the
    # response body, say) takes the messages it passes on. Set before either task starts.
    scope[PUMP_KEY] = _Pump()
    pump = asyncio.ensure_future(_pump(send, body))
    watcher = asyncio.ensure_future(wait_for_disconnect(scope, receive, limit))
    try:
        await asyncio.wait((pump, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not pump.done():
            pump.cancel()
        watcher.cancel()
        await asyncio.gather(pump, watcher, return_exceptions=True)
    if pump.cancelled():
        return  # the client went away
    error = pump.exception()
    if error is not None and not isinstance(error, _ClientGone):
        # Headers are gone: the only honest answer is to end the connection, which servers do
        # when an application returns without finishing its response.
        LOGGER.error(
            "%s failed while streaming its response body", describe(source, scope), exc_info=error
        )


async def _pump(send: Send, body: AsyncIterable[bytes]) -> None:
    iterator = aiter(body)
    try:
        async for chunk in iterator:
            if type(chunk) is not bytes:
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise ResponseError(f"the body yielded {type(chunk).__name__}, not bytes")
                chunk = bytes(chunk)
            if chunk:
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # ASGI 2.4: send raises once the client has gone
                    raise _ClientGone from None
    finally:
        await _close_iterable(iterator)
    try:
        await send({"type": "http.response.body", "body": b""})
    except OSError:
        raise _ClientGone from None


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
