"""Response compression as tuple middleware, and the optional decoding of request bodies.

Per request the middleware reads the request headers once, looking for `accept-encoding`; a
client that does not ask gets the handler's response untouched. Otherwise the coding is
negotiated (answers kept by header value, bounded), the response's headers are read once, and
a body worth compressing is compressed: a whole body in one call, with its content-length, a
streamed one chunk by chunk as it comes, without one.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, Final, cast, final

from bareasgi import (
    BindableMiddleware,
    BytesBody,
    ChunkedBody,
    HttpError,
    bindable,
    body_limit,
)
from bareasgi.headers import list_members, preferred
from bareasgi.types import Content, Header, Headers, HttpHandler, HttpResponse, Info, Matches, Scope

from ._codings import Coding, StreamEncoder, make_codings
from .options import CompressionOptions

LOGGER: Final = logging.getLogger("bareasgi_compression")

ACCEPT_ENCODING: Final = b"accept-encoding"
CONTENT_ENCODING: Final = b"content-encoding"
MAX_ACCEPT_ENCODING: Final = 1024
"""An `accept-encoding` longer than this many bytes is not parsed: the answer is not encoded
(identity is always acceptable to a client that sends such a thing)."""

_CACHE_MAX: Final = 256
_ALIASES: Final = {"x-gzip": "gzip"}
_VARY: Final = b"vary"
_VARY_ACCEPT_ENCODING: Final = (_VARY, ACCEPT_ENCODING)
_OWS: Final = b" \t"

# What the middleware looks for among a response's headers.
_TYPE, _REFUSE, _CACHE_CONTROL, _LENGTH, _VARIES = range(5)
_RESPONSE_HEADERS: Final = {
    b"content-type": _TYPE,
    CONTENT_ENCODING: _REFUSE,  # encoded already (a precompressed file, say)
    b"content-range": _REFUSE,  # a part of the identity body: never compress a range
    b"content-digest": _REFUSE,  # a digest of the content as sent: it would no longer hold
    b"cache-control": _CACHE_CONTROL,  # no-transform forbids changing the content
    b"content-length": _LENGTH,
    _VARY: _VARIES,
}

DECODE_CHUNK: Final = 64 * 1024
"""A decoded request body is handed out in pieces of at most this many bytes."""
YIELD_BYTES: Final = 1024 * 1024
"""A stream whose chunks compress to nothing yet gives the event loop a turn after this much
input, so that a client going away is noticed (core does the same between chunks it sends)."""


@final
class Compression:
    """The compression plugin's state: the codings in use and the middleware.

    Reach it with `compression_state(app)` or `compression_state(scope)`.
    """

    __slots__ = (
        "_by_name",
        "_kinds",
        "_negotiated",
        "_offered",
        "codings",
        "middleware",
        "options",
    )

    def __init__(self, options: CompressionOptions) -> None:
        self.options = options
        self.codings: tuple[Coding, ...] = make_codings(
            options.encodings, options.gzip_level, options.brotli_quality, options.zstd_level
        )
        """The codings offered, the server's preference first: those of `options.encodings`
        whose package is installed."""
        self._by_name = {coding.name: coding for coding in self.codings}
        # identity last: between equal q-values a coding is preferred to none.
        self._offered = (*(coding.name for coding in self.codings), "identity")
        self._negotiated: dict[bytes, Coding | None] = {}
        self._kinds: dict[bytes, tuple[bool, bool]] = {}
        self.middleware: BindableMiddleware = self._build_middleware()
        """The tuple middleware (made with `bareasgi.bindable`)."""

    @property
    def encodings(self) -> tuple[str, ...]:
        """The names of the codings offered, the server's preference first."""
        return tuple(coding.name for coding in self.codings)

    # ---- decisions ----------------------------------------------------------------------------

    def negotiate(self, accept_encoding: bytes | str | None) -> str | None:
        """The coding a request with this `accept-encoding` gets, or None (identity)."""
        if accept_encoding is None:
            return None
        if isinstance(accept_encoding, str):
            accept_encoding = accept_encoding.encode("latin-1", "replace")
        coding = self._coding_for(accept_encoding)
        return None if coding is None else coding.name

    def _coding_for(self, accept_encoding: bytes) -> Coding | None:
        negotiated = self._negotiated
        try:
            return negotiated[accept_encoding]
        except KeyError:
            pass
        if len(accept_encoding) > MAX_ACCEPT_ENCODING:
            return None
        ranked = preferred(accept_encoding.decode("latin-1"), self._offered, _ALIASES)
        coding = self._by_name.get(ranked[0]) if ranked else None
        if len(negotiated) >= _CACHE_MAX:
            negotiated.clear()
        negotiated[accept_encoding] = coding
        return coding

    def compresses(self, content_type: bytes | str) -> bool:
        """Whether a response of this content type is compressed (when large enough)."""
        if isinstance(content_type, str):
            content_type = content_type.encode("latin-1", "replace")
        return self._kind(content_type)[0]

    def _kind(self, content_type: bytes) -> tuple[bool, bool]:
        """(compressed, flushed after every chunk) for a content-type value."""
        kinds = self._kinds
        kind = kinds.get(content_type)
        if kind is None:
            media = content_type.partition(b";")[0].strip(_OWS).lower().decode("latin-1")
            kind = (
                _matches(media, self.options.content_types),
                _matches(media, self.options.flush_content_types),
            )
            if len(kinds) >= _CACHE_MAX:
                kinds.clear()
            kinds[content_type] = kind
        return kind

    # ---- the middleware -----------------------------------------------------------------------

    def _build_middleware(self) -> BindableMiddleware:
        """The middleware: handlers it binds answer HttpError themselves, whatever the path
        (so when innermost core binds it to the route's handler with no layer between)."""
        respond = self.respond
        decode = _decode_request
        decompress = self.options.decompress_requests

        def bind_handler(handler: HttpHandler) -> HttpHandler:
            async def compression(
                scope: Scope, info: Info, matches: Matches, content: Content
            ) -> HttpResponse:
                accept: bytes | None = None
                for name, value in scope["headers"]:
                    if name == b"accept-encoding":  # a constant: cheaper than a global here
                        accept = value if accept is None else accept + b", " + value
                try:
                    response = await handler(scope, info, matches, content)
                except HttpError as error:
                    response = error.as_response()
                if accept is None:
                    return response
                return cast(HttpResponse, respond(response, accept, scope["method"] == "HEAD"))

            async def decompression(
                scope: Scope, info: Info, matches: Matches, content: Content
            ) -> HttpResponse:
                accept: bytes | None = None
                encoded: bytes | None = None
                for name, value in scope["headers"]:
                    if name == b"accept-encoding":
                        accept = value if accept is None else accept + b", " + value
                    elif name == b"content-encoding":
                        encoded = value if encoded is None else encoded + b", " + value
                try:
                    if encoded is not None:
                        scope, content = decode(scope, content, encoded)
                    response = await handler(scope, info, matches, content)
                except HttpError as error:
                    response = error.as_response()
                if accept is None:
                    return response
                return cast(HttpResponse, respond(response, accept, scope["method"] == "HEAD"))

            return decompression if decompress else compression

        return bindable(bind_handler, catches_http_error=True)

    def outermost_middleware(self) -> BindableMiddleware:
        """The middleware's fast path, for when nothing but core is outside it.

        A request without `accept-encoding` gets the inner handler's own awaitable, with no
        coroutine of ours around it: an `HttpError` it raises then reaches core, which answers
        `error.as_response()` exactly as `middleware` would have (no middleware in between
        to see the difference). Every other request goes the general way. The plugin uses it
        when no plugin enabled before it contributes middleware (and not with
        `decompress_requests`); a property test feeds both the same requests.
        """
        if self.options.decompress_requests:
            return self.middleware
        general = self.middleware.bind_handler

        def bind_handler(handler: HttpHandler) -> HttpHandler:
            asking = general(handler)

            def compression(
                scope: Scope, info: Info, matches: Matches, content: Content
            ) -> Awaitable[HttpResponse]:
                for name, _ in scope["headers"]:
                    if name == b"accept-encoding":
                        return asking(scope, info, matches, content)
                return handler(scope, info, matches, content)

            return compression

        return bindable(bind_handler, catches_http_error=True)

    def respond(self, response: Any, accept_encoding: bytes, head: bool = False) -> Any:
        """`response` as a client sending this `accept-encoding` gets it.

        Anything that is not a response is returned as it is, for core to refuse. `head`: the
        request is a HEAD: the headers a GET would get, without content-length, and no body.
        """
        coding = self._coding_for(accept_encoding)
        if coding is None or type(response) is not tuple or len(response) < 2:
            return response
        status = response[0]
        headers = response[1]
        if type(status) is not int or not headers:
            return response  # no content-type: nothing known to be worth compressing
        if status == 204 or status < 200:
            return response
        content_type: bytes | None = None
        declared: bytes | None = None
        varies = False  # vary already names accept-encoding (or *)
        try:
            for name, value in headers:
                kind = _RESPONSE_HEADERS.get(name)
                if kind is None:
                    continue
                if kind == _TYPE:
                    if type(value) is not bytes:
                        return response  # ill-formed: core refuses it
                    content_type = value
                elif kind == _REFUSE:
                    return response
                elif kind == _CACHE_CONTROL:
                    if b"no-transform" in value.lower():
                        return response
                elif kind == _LENGTH:
                    declared = value
                elif not varies:
                    varies = _varies(value)
        except (TypeError, ValueError, AttributeError):
            return response  # ill-formed: core refuses it
        if content_type is None:
            if status != 304:
                return response
        elif not self._kind(content_type)[0]:
            return response
        if status == 304:
            # Its validators describe the answer a 200 would have been: compressed.
            return (status, _rewritten(headers, None, varies), *response[2:])

        body: Any = response[2] if len(response) > 2 else None
        body_type = type(body)
        data: bytes | None
        if body_type is bytes:
            data = body
        elif body_type is BytesBody:
            data = body[0]
        elif body is None:
            data = b""
        elif body_type is ChunkedBody:
            data = b"".join(body.iter_chunks())
        elif isinstance(body, (bytearray, memoryview)):
            data = bytes(body)
        elif isinstance(body, AsyncIterable):
            data = None
        else:
            return response

        minimum = self.options.minimum_size
        if data is not None:
            size = len(data)
            if head and not size and declared is not None:
                size = _length(declared)  # a HEAD handler that gave the length alone
            if size < minimum:
                return response
            headers = _rewritten(headers, coding.header, varies)
            if head:
                return (status, headers, _Unsent(None), *response[3:])
            return (status, headers, coding.compress(data), *response[3:])

        if declared is not None and _length(declared) < minimum:
            return response
        headers = _rewritten(headers, coding.header, varies)
        if head:
            return (status, headers, _Unsent(body), *response[3:])
        assert content_type is not None
        flush = self._kind(content_type)[1]
        return (status, headers, CompressedStream(body, coding.stream(), flush), *response[3:])


def _matches(media: str, patterns: tuple[str, ...]) -> bool:
    major = media.partition("/")[0]
    for pattern in patterns:
        if pattern[0] == "+":
            if media.endswith(pattern):
                return True
        elif pattern.endswith("/*"):
            if pattern[:-2] == major:
                return True
        elif pattern == media:
            return True
    return False


def _varies(value: bytes) -> bool:
    """Whether a vary value names accept-encoding, or is `*`."""
    members = list_members(value)
    return ACCEPT_ENCODING in members or b"*" in members


def _length(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _rewritten(headers: Any, coding: Header | None, varies: bool) -> Headers:
    """A copy of `headers` for a compressed answer: no content-length, a strong ETag made weak,
    `accept-encoding` merged into vary, and the `coding` header (unless None)."""
    new: Headers = []
    vary_missing = not varies
    for header in headers:
        name = header[0]
        if name == b"content-length":
            continue
        if name == b"etag":
            value = header[1]
            if value[:1] == b'"':  # strong: the compressed bytes are not the identity bytes
                header = (name, b"W/" + value)
        elif name == _VARY and vary_missing:
            value = header[1].strip(_OWS)
            header = (_VARY, value + b", accept-encoding" if value else ACCEPT_ENCODING)
            vary_missing = False
        new.append(header)
    if vary_missing:
        new.append(_VARY_ACCEPT_ENCODING)
    if coding is not None:
        new.append(coding)
    return new


@final
class CompressedStream:
    """A streamed body compressed as it is sent; closing it closes the handler's body.

    It gives out compressed data as the encoder yields it (with `flush`, every chunk whole).
    Core closes the body it was given when the response ends however it ended (the client
    gone included): then the handler's body is closed too, even when it was never started.
    """

    __slots__ = ("_done", "_encode", "_finish", "_inner", "_source")

    def __init__(self, body: AsyncIterable[bytes], encoder: StreamEncoder, flush: bool) -> None:
        self._source = body
        self._inner: AsyncIterator[bytes] | None = None
        self._encode: Callable[[bytes], bytes] = encoder.flush if flush else encoder.compress
        self._finish = encoder.finish
        self._done = False

    def __aiter__(self) -> CompressedStream:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        inner = self._inner
        if inner is None:
            inner = self._inner = aiter(self._source)
        encode = self._encode
        following = inner.__anext__
        taken = 0
        while True:
            chunk: Any
            try:
                chunk = await following()
            except StopAsyncIteration:
                self._done = True
                tail = self._finish()
                if tail:
                    return tail
                raise
            if type(chunk) is not bytes:
                if not isinstance(chunk, (bytearray, memoryview)):
                    raise TypeError(f"the body yielded {type(chunk).__name__}, not bytes")
                chunk = bytes(chunk)
            if not chunk:
                continue
            out = encode(chunk)
            if out:
                return out
            taken += len(chunk)
            if taken >= YIELD_BYTES:
                taken = 0
                await asyncio.sleep(0)

    async def aclose(self) -> None:
        """Stop: the handler's body is closed (its `finally` runs)."""
        self._done = True
        await _close(self._inner if self._inner is not None else self._source)

    def __repr__(self) -> str:
        return f"CompressedStream({self._source!r})"


@final
class _Unsent:
    """A HEAD answer's body: nothing, and the handler's body closed when core closes this."""

    __slots__ = ("_body",)

    def __init__(self, body: object) -> None:
        self._body = body

    def __aiter__(self) -> _Unsent:
        return self

    async def __anext__(self) -> bytes:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await _close(self._body)


async def _close(body: object) -> None:
    close = getattr(body, "aclose", None)
    if close is not None:
        await close()


# ---- request bodies -----------------------------------------------------------------------

_GZIP_TOKENS: Final = frozenset({b"gzip", b"x-gzip"})
_UNSUPPORTED: Final = HttpError(
    415,
    b"Unsupported content-encoding: send gzip, or no content-encoding",
    [(b"accept-encoding", b"gzip")],
)


def _decode_request(scope: Scope, content: Content, encoded: bytes) -> tuple[Scope, Content]:
    """The scope and body a handler gets for a request with `content-encoding: encoded`.

    gzip is decoded as it is read; `identity` is nothing to decode; anything else is refused
    (415, with the coding accepted). The handler's scope is a copy without content-encoding
    and content-length, which describe the encoded body.
    """
    codings = [
        token
        for part in encoded.split(b",")
        if (token := part.strip(_OWS).lower()) and token != b"identity"
    ]
    if not codings:
        return scope, content
    if len(codings) > 1 or codings[0] not in _GZIP_TOKENS:
        raise _UNSUPPORTED
    limit = getattr(content, "limit", None)
    if type(limit) is not int:
        limit = body_limit(scope)
    decoded = DecodedBody(content, limit)
    add_cleanup = getattr(content, "add_cleanup", None)
    if add_cleanup is not None:
        add_cleanup(decoded.close)
    headers = [
        header
        for header in scope["headers"]
        if header[0] != b"content-encoding" and header[0] != b"content-length"
    ]
    return {**scope, "headers": headers}, decoded


@final
class DecodedBody:
    """A gzip request body decoded as it is read, in pieces of at most `DECODE_CHUNK` bytes.

    The decoded size counts against `limit` (the route's body limit): once it is passed the
    read raises `HttpError(413)`, whatever the encoded size — a small body that would expand
    to gigabytes is refused after `limit` bytes, never held. Bad gzip raises
    `HttpError(400)`. Concatenated gzip members are decoded one after the other (RFC 1952).
    `add_cleanup` is the request body's.
    """

    __slots__ = (
        "_content",
        "_decoder",
        "_more",
        "_pending",
        "_reader",
        "_size",
        "_started",
        "limit",
    )

    def __init__(self, content: Content, limit: int) -> None:
        self._content = content
        self._reader = aiter(content)
        self.limit = limit
        """The most decoded bytes a handler may read."""
        self._decoder: Any = zlib.decompressobj(31)
        self._pending = b""
        self._more = False
        self._size = 0
        self._started = False

    def __aiter__(self) -> DecodedBody:
        return self

    async def __anext__(self) -> bytes:
        decoder = self._decoder
        if decoder is None:
            raise StopAsyncIteration
        while True:
            if self._pending or self._more:
                data, self._pending = self._pending, b""
            else:
                try:
                    data = await anext(self._reader)
                except StopAsyncIteration:
                    self.close()
                    if self._started:
                        raise HttpError(400, b"Truncated gzip request body") from None
                    raise
                if not data:
                    continue
            if decoder.eof:  # another gzip member follows
                decoder = self._decoder = zlib.decompressobj(31)
            try:
                out: bytes = decoder.decompress(data, DECODE_CHUNK)
            except zlib.error:
                self.close()
                raise HttpError(400, b"Invalid gzip request body") from None
            if decoder.eof:
                self._started = False
                self._more = False
                self._pending = decoder.unused_data
            else:
                self._started = True
                self._more = len(out) == DECODE_CHUNK
                self._pending = decoder.unconsumed_tail
            self._size += len(out)
            if self._size > self.limit:
                self.close()
                raise HttpError(
                    413,
                    f"Request body larger than {self.limit} bytes once decoded".encode(),
                    [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
                )
            if out:
                return out

    def close(self) -> None:
        """Let go of the decoder (the request's clean-up does this at the latest)."""
        self._decoder = None
        self._pending = b""
        self._more = False

    def add_cleanup(self, cleanup: Callable[[], object]) -> None:
        """The request body's `add_cleanup`: run `cleanup()` once the response is over."""
        add_cleanup = getattr(self._content, "add_cleanup", None)
        if add_cleanup is None:
            raise TypeError("this request body has no clean-up hook")
        add_cleanup(cleanup)

    @property
    def disconnected(self) -> bool:
        """The request body's `disconnected`."""
        return bool(getattr(self._content, "disconnected", False))

    async def aclose(self) -> None:
        """Stop reading: the rest of the body is left unread."""
        self.close()
        await _close(self._content)


__all__ = ["CompressedStream", "Compression", "DecodedBody"]
