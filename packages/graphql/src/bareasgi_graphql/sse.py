"""GraphQL over Server-Sent Events: the graphql-sse protocol (graphql-sse's PROTOCOL.md).

Both of its modes, at the GraphQL endpoint's own path:

- **Distinct connections**: a GET or POST asking for `text/event-stream` is one operation
  whose results stream back as `next` events, then `complete`. Request errors of the
  GraphQL-over-HTTP kind (bad JSON, a missing query, a mutation over GET) are answered as
  GraphQL over HTTP answers them; a document that does not parse or validate is answered
  through the accepted stream (`next` with the errors, then `complete`), as the protocol asks.
- **Single connection**: a PUT reserves a stream and answers 201 with its token; a GET (or
  POST) asking for `text/event-stream` with the token (`x-graphql-event-stream-token`, or the
  `token` query parameter) opens it; POSTs (or GETs) carrying the token and
  `extensions.operationId` run operations (202) whose events, tagged with their id, go down
  that stream; a DELETE with `?operationId=` stops one. A reservation lives in the worker
  that made it: with several workers, route a client's requests to one worker (sticky
  sessions), or use the distinct connections mode.

A client going away, a DELETE, or the stream's end cancels the operation's task, which closes
its source async iterator at once (its `finally` runs) whatever it is awaiting.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, final

from graphql import ExecutionResult, OperationType

from bareasgi import Content, HttpResponse, Info, Matches, Scope, bytes_reader
from bareasgi.headers import parse_weighted

from .engine import (
    MASKED_MESSAGE,
    Context,
    ContextRefused,
    GraphQLEngine,
    Prepared,
    close_stream,
    encode_json,
)
from .http import (
    JSON_TYPE,
    STREAM,
    TEXT_EVENT_STREAM,
    TEXT_TYPE,
    TOKEN_HEADER,
    BadRequest,
    bad_request,
    check_types,
    is_json,
    json_object,
    json_param,
    negotiate,
    query_params,
    read_headers,
    unsupported_media_type,
)

LOGGER: Final = logging.getLogger("bareasgi_graphql")

DEFAULT_KEEP_ALIVE: Final = 12.0
DEFAULT_RESERVATION_TIMEOUT: Final = 30.0
DEFAULT_MAX_RESERVATIONS: Final = 10_000

_STREAM_HEADERS: Final = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # proxies such as nginx: do not buffer the stream
)
_COMMENT: Final = b":\n\n"  # opens the stream at once, and keeps an idle one alive
_COMPLETE: Final = b"event: complete\ndata: \n\n"  # an empty data field: EventSource fires
_SUBSCRIPTION: Final = OperationType.SUBSCRIPTION
_HIGH_WATER: Final = 64  # events waiting for a stream before its producers wait
_MUTATION: Final = OperationType.MUTATION


def _stream_headers() -> list[tuple[bytes, bytes]]:
    return list(_STREAM_HEADERS)


def _error_response(status: int, message: str, *extra: tuple[bytes, bytes]) -> HttpResponse:
    return status, [JSON_TYPE, *extra], encode_json({"errors": [{"message": message}]}).encode()


def _accepts_event_stream(accept: str | None) -> bool:
    # An event stream when the client prefers it to the JSON media types, by GraphQL over
    # HTTP's own negotiation (the highest q; among equals, the client's first).
    if accept is None or TEXT_EVENT_STREAM not in accept:
        return False
    return negotiate(accept, False) == STREAM


@final
class _Request:
    """A GraphQL request's parameters, as GraphQL over HTTP reads them."""

    __slots__ = ("document_id", "extensions", "operation_name", "query", "variables")

    def __init__(self, params: dict[str, Any]) -> None:
        self.query = params.get("query")
        self.operation_name = params.get("operationName") or None
        self.variables = params.get("variables")
        self.extensions = params.get("extensions")
        self.document_id = params.get("documentId") or None
        check_types(
            self.query, self.operation_name, self.variables, self.extensions, self.document_id
        )


async def _read_request(
    scope: Scope, content: Content, method: str, content_type: bytes | None
) -> _Request | HttpResponse:
    """The request's GraphQL parameters, or the GraphQL-over-HTTP answer to a bad request."""
    try:
        if method == "GET":
            params: dict[str, Any] = dict(query_params(scope))
            params["variables"] = json_param(params, "variables")
            params["extensions"] = json_param(params, "extensions")
            return _Request(params)
        if content_type is None or not is_json(content_type):
            return unsupported_media_type()
        return _Request(json_object(await bytes_reader(content)))
    except BadRequest as error:
        return bad_request(error.message)


@final
class _Channel:
    """Encoded events waiting for one event stream, and that stream's body.

    Producers `put` without waiting; the body sends whatever has gathered as one chunk, and a
    comment when nothing was sent for `keep_alive` seconds.
    """

    __slots__ = ("_chunks", "_closed", "_drained", "_idle", "_keep_alive", "_timer", "_waiter")

    def __init__(self, keep_alive: float | None) -> None:
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._idle = True
        self._keep_alive = keep_alive

    def put(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def full(self) -> bool:
        """Whether producers should wait (`await drained()`) before putting more."""
        return len(self._chunks) >= _HIGH_WATER

    async def drained(self) -> None:
        """Until the body has taken what is waiting (a slow client slows its producers, and a
        source that never awaits gives the loop a turn)."""
        if self._drained is None or self._drained.done():
            self._drained = asyncio.get_running_loop().create_future()
        await self._drained

    def close(self) -> None:
        """No more events: the body ends once it has sent what is waiting."""
        self._closed = True
        self.put(b"")

    async def body(
        self,
        on_start: Callable[[], None] | None,
        on_end: Callable[[], Awaitable[None]],
    ) -> AsyncIterator[bytes]:
        """The response body: `on_start()` when it starts, `on_end()` however it ends."""
        loop = asyncio.get_running_loop()
        chunks = self._chunks
        try:
            if on_start is not None:
                on_start()
            if self._keep_alive:
                self._timer = loop.call_later(self._keep_alive, self._tick)
            yield _COMMENT
            while True:
                if chunks:
                    chunk = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                    chunks.clear()
                    self._idle = False
                    drained = self._drained
                    if drained is not None and not drained.done():
                        drained.set_result(None)
                    if chunk:
                        yield chunk
                    continue
                if self._closed:
                    return
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
        finally:
            self._closed = True
            drained = self._drained
            if drained is not None and not drained.done():
                drained.set_result(None)  # producers waiting go on, to be cancelled
            if self._timer is not None:
                self._timer.cancel()
            await on_end()

    def _tick(self) -> None:
        if self._closed:
            return
        if self._idle:
            self.put(_COMMENT)
        self._idle = True
        assert self._keep_alive is not None
        self._timer = asyncio.get_running_loop().call_later(self._keep_alive, self._tick)


async def _cancel_all(tasks: set[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


@final
class _Reservation:
    """A single-connection stream reserved by a PUT: its channel and running operations."""

    __slots__ = ("channel", "connected", "expiry", "operations", "running", "token")

    def __init__(self, token: str, keep_alive: float | None) -> None:
        self.token = token
        self.channel = _Channel(keep_alive)
        self.connected = False
        self.expiry: asyncio.TimerHandle | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.running: set[asyncio.Task[None]] = set()


@final
class GraphQLSse:
    """The graphql-sse transport: `GraphQLHttp.streams` hands it the requests it `wants`.

    Args:
        engine: The engine preparing and running the operations.
        keep_alive: Seconds of silence after which a stream gets a comment (None: never).
        max_subscriptions: Operations one single-connection stream may run at once; the one
            over gets a `next` event with the error, then `complete`, for its id.
        reservation_timeout: Seconds a reservation waits for its stream before it is dropped.
        max_reservations: Reservations this worker holds at most (connected or not); a PUT
            past that is answered 503, so PUTs alone cannot grow memory without bound.
    """

    def __init__(
        self,
        engine: GraphQLEngine,
        *,
        keep_alive: float | None = DEFAULT_KEEP_ALIVE,
        max_subscriptions: int | None = 100,
        reservation_timeout: float = DEFAULT_RESERVATION_TIMEOUT,
        max_reservations: int = DEFAULT_MAX_RESERVATIONS,
    ) -> None:
        self.engine = engine
        self.max_reservations = max_reservations
        self.keep_alive = keep_alive
        self.max_subscriptions = max_subscriptions
        self.reservation_timeout = reservation_timeout
        self._reservations: dict[str, _Reservation] = {}

    @property
    def reservations(self) -> int:
        """How many single-connection reservations this worker holds now."""
        return len(self._reservations)

    # -- dispatch -------------------------------------------------------------------------

    def wants(self, scope: Scope, method: str, accept: str | None, token: str | None) -> bool:
        """Whether the request is graphql-sse's: a reservation, a stop, a stream, or an
        operation carrying a stream token (`accept` and `token` as `read_headers` found them)."""
        if method == "POST" or method == "GET":
            if accept is not None and TEXT_EVENT_STREAM in accept:
                return _accepts_event_stream(accept)
            return token is not None or b"token=" in scope["query_string"]
        return method == "PUT" or method == "DELETE"

    async def __call__(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """Serve one graphql-sse request as a handler of its own."""
        accept, content_type, token = read_headers(scope)
        return await self.handle(scope, content, scope["method"], accept, content_type, token)

    async def handle(
        self,
        scope: Scope,
        content: Content,
        method: str,
        accept: str | None,
        content_type: bytes | None,
        token: str | None,
    ) -> HttpResponse:
        """Serve one graphql-sse request, its headers already read (`read_headers`)."""
        if token is None and b"token=" in scope["query_string"]:
            try:
                token = query_params(scope).get("token") or None
            except BadRequest as error:
                return bad_request(error.message)
        if method == "PUT":
            return self._reserve(accept)
        if method == "DELETE":
            return await self._stop(scope, token)
        if _accepts_event_stream(accept):
            if token is not None:
                return self._connect(token)
            return await self._distinct(scope, content, method, content_type)
        if token is None:  # not asked for: GraphQLHttp answers only what it wants
            return _error_response(400, "A stream token is required.")
        return await self._operation(scope, content, method, content_type, token)

    # -- distinct connections -------------------------------------------------------------

    async def _distinct(
        self, scope: Scope, content: Content, method: str, content_type: bytes | None
    ) -> HttpResponse:
        request = await _read_request(scope, content, method, content_type)
        if not isinstance(request, _Request):
            return request
        engine = self.engine
        prepared = engine.prepare(
            request.query, request.operation_name, request.extensions, request.document_id
        )
        if not isinstance(prepared, Prepared):
            # Validation errors go through the accepted stream (the protocol's rule).
            body = _next_event(engine.format_errors(prepared)) + _COMPLETE
            return 200, _stream_headers(), body
        if method == "GET" and prepared.operation_type is _MUTATION:
            return _error_response(
                405, "Mutations are not run over GET: use POST.", (b"allow", b"POST")
            )
        try:
            context = await engine.make_context(scope)
        except ContextRefused as refused:
            return _error_response(refused.status, refused.message)
        if prepared.operation_type is not _SUBSCRIPTION:
            result = await engine.execute(prepared, request.variables, context)
            body = _next_event(engine.format_result(result, prepared)) + _COMPLETE
            return 200, _stream_headers(), body
        outcome = await engine.subscribe(prepared, request.variables, context)
        if isinstance(outcome, ExecutionResult):
            body = _next_event(engine.format_result(outcome, prepared)) + _COMPLETE
            return 200, _stream_headers(), body
        channel = _Channel(self.keep_alive)
        running: set[asyncio.Task[None]] = set()
        stream = outcome

        def start() -> None:
            # Started with the body, so a body never sent leaves no task behind.
            running.add(
                asyncio.get_running_loop().create_task(
                    _pump(engine, stream, prepared, channel, None, close=True)
                )
            )

        return 200, _stream_headers(), channel.body(start, lambda: _cancel_all(running))

    # -- single connection ----------------------------------------------------------------

    def _reserve(self, accept: str | None) -> HttpResponse:
        if accept is not None and not any(
            m.value in ("text/plain", "text/*", "*/*") and m.q > 0 for m in parse_weighted(accept)
        ):
            return 406, [TEXT_TYPE], b"Not Acceptable: the token is text/plain"
        if len(self._reservations) >= self.max_reservations:
            LOGGER.warning(
                "graphql-sse: %d reservations held, refusing more", self.max_reservations
            )
            return 503, [TEXT_TYPE, (b"retry-after", b"5")], b"Too many stream reservations"
        token = secrets.token_urlsafe(24)
        reservation = _Reservation(token, self.keep_alive)
        self._reservations[token] = reservation
        reservation.expiry = asyncio.get_running_loop().call_later(
            self.reservation_timeout, self._expire, reservation
        )
        return 201, [TEXT_TYPE], token.encode()

    def _expire(self, reservation: _Reservation) -> None:
        if not reservation.connected and self._reservations.get(reservation.token) is reservation:
            del self._reservations[reservation.token]
            reservation.operations.clear()
            for task in reservation.running:
                task.cancel()  # each ends by itself, its source closed

    def _connect(self, token: str) -> HttpResponse:
        reservation = self._reservations.get(token)
        if reservation is None:
            return _error_response(404, "Stream not found: make a reservation first (PUT).")
        if reservation.connected:
            return _error_response(409, "Stream already open.")
        reservation.connected = True
        if reservation.expiry is not None:
            reservation.expiry.cancel()

        async def end() -> None:
            if self._reservations.get(token) is reservation:
                del self._reservations[token]
            reservation.operations.clear()
            await _cancel_all(reservation.running)

        return 200, _stream_headers(), reservation.channel.body(None, end)

    async def _operation(
        self,
        scope: Scope,
        content: Content,
        method: str,
        content_type: bytes | None,
        token: str,
    ) -> HttpResponse:
        reservation = self._reservations.get(token)
        if reservation is None:
            return _error_response(404, "Stream not found: make a reservation first (PUT).")
        request = await _read_request(scope, content, method, content_type)
        if not isinstance(request, _Request):
            return request
        extensions = request.extensions or {}
        operation_id = extensions.get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            return _error_response(400, "Operation ID is missing (extensions.operationId).")
        if operation_id in reservation.operations:
            return _error_response(409, "Operation with ID already exists.")
        engine = self.engine
        prepared = engine.prepare(
            request.query, request.operation_name, request.extensions, request.document_id
        )
        if not isinstance(prepared, Prepared):
            return 400, [JSON_TYPE], encode_json(engine.format_errors(prepared)).encode()
        if method == "GET" and prepared.operation_type is _MUTATION:
            return _error_response(
                405, "Mutations are not run over GET: use POST.", (b"allow", b"POST")
            )
        try:
            context = await engine.make_context(scope)
        except ContextRefused as refused:
            return _error_response(refused.status, refused.message)
        if self._reservations.get(token) is not reservation:
            return _error_response(404, "Stream not found: it ended.")
        id_json = encode_json(operation_id)
        limit = self.max_subscriptions
        if limit is not None and len(reservation.operations) >= limit:
            error = {
                "message": f"Too many operations on this stream: the limit "
                f"(max_subscriptions) is {limit}",
                "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS", "limit": limit},
            }
            reservation.channel.put(
                _next_event_for(id_json, {"errors": [error]}) + _complete_for(id_json)
            )
            return 202, [], b""
        task = asyncio.get_running_loop().create_task(
            self._run(reservation, operation_id, id_json, prepared, request.variables, context)
        )
        reservation.operations[operation_id] = task
        reservation.running.add(task)
        task.add_done_callback(reservation.running.discard)
        return 202, [], b""

    async def _run(
        self,
        reservation: _Reservation,
        operation_id: str,
        id_json: str,
        prepared: Prepared,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> None:
        engine = self.engine
        channel = reservation.channel
        try:
            if prepared.operation_type is not _SUBSCRIPTION:
                result = await engine.execute(prepared, variables, context)
                channel.put(
                    _next_event_for(id_json, engine.format_result(result, prepared))
                    + _complete_for(id_json)
                )
                return
            outcome = await engine.subscribe(prepared, variables, context)
            if isinstance(outcome, ExecutionResult):
                channel.put(
                    _next_event_for(id_json, engine.format_result(outcome, prepared))
                    + _complete_for(id_json)
                )
                return
            await _pump(engine, outcome, prepared, channel, id_json, close=False)
        finally:
            if reservation.operations.get(operation_id) is asyncio.current_task():
                del reservation.operations[operation_id]

    async def _stop(self, scope: Scope, token: str | None) -> HttpResponse:
        reservation = self._reservations.get(token) if token is not None else None
        if reservation is None:
            return _error_response(404, "Stream not found.")
        try:
            operation_id = query_params(scope).get("operationId")
        except BadRequest as error:
            return bad_request(error.message)
        if not operation_id:
            return _error_response(400, "Operation ID is missing (?operationId=).")
        task = reservation.operations.pop(operation_id, None)
        if task is not None:
            task.cancel()
        return 200, [], b""


def _next_event(payload: dict[str, Any]) -> bytes:
    return b"event: next\ndata: " + encode_json(payload).encode() + b"\n\n"


def _next_event_for(id_json: str, payload: dict[str, Any]) -> bytes:
    return (
        b'event: next\ndata: {"id":'
        + id_json.encode()
        + b',"payload":'
        + encode_json(payload).encode()
        + b"}\n\n"
    )


def _complete_for(id_json: str) -> bytes:
    return b'event: complete\ndata: {"id":' + id_json.encode() + b"}\n\n"


async def _pump(
    engine: GraphQLEngine,
    stream: AsyncIterator[ExecutionResult],
    prepared: Prepared,
    channel: _Channel,
    id_json: str | None,
    *,
    close: bool,
) -> None:
    """Put each of the stream's results on the channel as a `next` event, then `complete`."""
    format_result = engine.format_result
    put = channel.put
    if id_json is None:
        head = b"event: next\ndata: "
        tail = b"\n\n"
        complete = _COMPLETE
    else:
        head = b'event: next\ndata: {"id":' + id_json.encode() + b',"payload":'
        tail = b"}\n\n"
        complete = _complete_for(id_json)
    try:
        try:
            async for result in stream:
                put(head + encode_json(format_result(result, prepared)).encode() + tail)
                if channel.full():
                    await channel.drained()
        finally:
            await close_stream(stream)
        put(complete)
    except Exception as error:
        name = prepared.operation_name
        LOGGER.exception(
            "GraphQL subscription %s over SSE failed", repr(name) if name else "(anonymous)"
        )
        message = MASKED_MESSAGE if engine.mask_errors else str(error) or MASKED_MESSAGE
        put(head + encode_json({"errors": [{"message": message}]}).encode() + tail + complete)
    finally:
        if close:
            channel.close()


__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "DEFAULT_MAX_RESERVATIONS",
    "DEFAULT_RESERVATION_TIMEOUT",
    "TOKEN_HEADER",
    "GraphQLSse",
]
