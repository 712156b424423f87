"""GraphQL over WebSocket: the `graphql-transport-ws` protocol (graphql-ws's PROTOCOL.md).

One handler per endpoint; per socket one receive loop (this handler's own task) and one task
per running operation. Completing an operation, the client going away or the server closing
the socket cancels the operation's task, which closes its source async iterator at once —
its `finally` runs — whatever it is awaiting; the handler returns only when every operation
task has ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Final, final

from graphql import ExecutionResult, OperationType

from bareasgi import Info, Matches, Scope
from bareasgi.websockets import WebSocket

from .engine import MASKED_MESSAGE, Context, ContextRefused, Prepared, close_stream, encode_json

if TYPE_CHECKING:
    from .engine import GraphQLEngine

LOGGER: Final = logging.getLogger("bareasgi_graphql")

SUBPROTOCOL: Final = "graphql-transport-ws"

# The protocol's close codes.
BAD_REQUEST: Final = 4400
UNAUTHORIZED: Final = 4401
FORBIDDEN: Final = 4403
SUBPROTOCOL_NOT_ACCEPTABLE: Final = 4406
INIT_TIMEOUT: Final = 4408
SUBSCRIBER_EXISTS: Final = 4409
TOO_MANY_INITS: Final = 4429
INTERNAL_ERROR: Final = 4500

DEFAULT_CONNECTION_INIT_TIMEOUT: Final = 3.0
DEFAULT_MAX_SUBSCRIPTIONS: Final = 100

_ACK: Final = '{"type":"connection_ack"}'
_PONG: Final = '{"type":"pong"}'
_SUBSCRIPTION: Final = OperationType.SUBSCRIPTION
_TURN_MASK: Final = 127


class _Gone(Exception):
    """The socket can no longer be sent on."""


class _Protocol(Exception):
    """The client broke the protocol: the socket is closed with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _close_reason(text: str) -> str:
    # A close frame's reason is at most 123 bytes of UTF-8.
    encoded = text.encode()
    if len(encoded) <= 123:
        return text
    return encoded[:120].decode(errors="ignore") + "..."


def _parse(data: str | bytes) -> dict[str, Any]:
    """A client message, checked as the protocol has it, or `_Protocol(4400)`."""
    try:
        message = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _Protocol(BAD_REQUEST, "Invalid message received") from None
    if type(message) is not dict:
        raise _Protocol(BAD_REQUEST, "Invalid message received: not an object")
    kind = message.get("type")
    if kind == "subscribe":
        identifier = message.get("id")
        if type(identifier) is not str or not identifier:
            raise _Protocol(BAD_REQUEST, "Invalid message received: 'id' must be a string")
        payload = message.get("payload")
        if type(payload) is not dict:
            raise _Protocol(BAD_REQUEST, "Invalid message received: 'payload' must be an object")
        if type(payload.get("query")) is not str:
            raise _Protocol(BAD_REQUEST, "Invalid message received: 'query' must be a string")
        for field in ("variables", "extensions"):
            value = payload.get(field)
            if value is not None and type(value) is not dict:
                raise _Protocol(
                    BAD_REQUEST, f"Invalid message received: {field!r} must be an object"
                )
        operation_name = payload.get("operationName")
        if operation_name is not None and type(operation_name) is not str:
            raise _Protocol(
                BAD_REQUEST, "Invalid message received: 'operationName' must be a string"
            )
    elif kind == "complete":
        identifier = message.get("id")
        if type(identifier) is not str or not identifier:
            raise _Protocol(BAD_REQUEST, "Invalid message received: 'id' must be a string")
    elif kind in ("connection_init", "ping", "pong"):
        payload = message.get("payload")
        if payload is not None and type(payload) is not dict:
            raise _Protocol(BAD_REQUEST, "Invalid message received: 'payload' must be an object")
    elif type(kind) is str:
        raise _Protocol(BAD_REQUEST, _close_reason(f"Invalid message type {kind!r}"))
    else:
        raise _Protocol(BAD_REQUEST, "Invalid message received: no 'type'")
    return message


@final
class GraphQLWebSocketHandler:
    """The `graphql-transport-ws` endpoint: a bareASGI WebSocket handler.

    Args:
        engine: The engine preparing and running the operations.
        connection_init_timeout: Seconds a client has to send `connection_init` (4408 after).
        max_subscriptions: Operations one socket may run at once (None: no limit); the one
            over is answered with an `error` message for its id, and the socket stays open.
    """

    __slots__ = ("connection_init_timeout", "engine", "max_subscriptions")

    def __init__(
        self,
        engine: GraphQLEngine,
        *,
        connection_init_timeout: float = DEFAULT_CONNECTION_INIT_TIMEOUT,
        max_subscriptions: int | None = DEFAULT_MAX_SUBSCRIPTIONS,
    ) -> None:
        self.engine = engine
        self.connection_init_timeout = connection_init_timeout
        self.max_subscriptions = max_subscriptions

    async def __call__(
        self, scope: Scope, info: Info, matches: Matches, web_socket: WebSocket
    ) -> None:
        if SUBPROTOCOL not in web_socket.subprotocols:
            # As graphql-ws's own server does: accept, then say why with the close code.
            await web_socket.accept()
            await web_socket.close(SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")
            return
        await web_socket.accept(SUBPROTOCOL)
        connection = _Connection(self, scope, web_socket)
        try:
            await connection.serve()
        finally:
            await connection.end()


@final
class _Connection:
    """One socket's state: its context once acknowledged, and its running operations."""

    __slots__ = (
        "acknowledged",
        "context",
        "handler",
        "init_received",
        "operations",
        "running",
        "scope",
        "web_socket",
    )

    def __init__(self, handler: GraphQLWebSocketHandler, scope: Scope, web_socket: WebSocket):
        self.handler = handler
        self.scope = scope
        self.web_socket = web_socket
        self.init_received = False
        self.acknowledged = False
        self.context: Context | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        # Every operation task not yet ended, completed by the client or not.
        self.running: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        web_socket = self.web_socket
        try:
            await self._initialise()
            while (data := await web_socket.receive()) is not None:
                await self._dispatch(_parse(data))
        except _Protocol as error:
            await web_socket.close(error.code, error.reason)

    async def _initialise(self) -> None:
        """Read messages until the connection is acknowledged, within the time allowed."""
        web_socket = self.web_socket
        deadline = asyncio.get_running_loop().time() + self.handler.connection_init_timeout
        while not self.acknowledged:
            try:
                async with asyncio.timeout_at(deadline):
                    data = await web_socket.receive()
            except TimeoutError:
                if not self.init_received:
                    raise _Protocol(INIT_TIMEOUT, "Connection initialisation timeout") from None
                continue  # unreachable: receiving stops once init is received
            if data is None:
                return
            message = _parse(data)
            if message["type"] == "connection_init":
                await self._acknowledge(message)
            else:
                await self._dispatch(message)

    async def _acknowledge(self, message: Mapping[str, Any]) -> None:
        self.init_received = True
        params = message.get("payload") or {}
        try:
            self.context = await self.handler.engine.make_context(self.scope, params)
        except ContextRefused:
            raise _Protocol(FORBIDDEN, "Forbidden") from None
        except Exception:
            LOGGER.exception("the GraphQL context callable failed on a connection_init")
            raise _Protocol(INTERNAL_ERROR, "Internal server error") from None
        self.acknowledged = True
        await self.web_socket.send(_ACK)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "subscribe":
            if not self.acknowledged:
                raise _Protocol(UNAUTHORIZED, "Unauthorized")
            identifier: str = message["id"]
            operations = self.operations
            if identifier in operations:
                raise _Protocol(
                    SUBSCRIBER_EXISTS, _close_reason(f"Subscriber for {identifier} already exists")
                )
            limit = self.handler.max_subscriptions
            if limit is not None and len(operations) >= limit:
                await self._send_error(
                    encode_json(identifier),
                    [
                        {
                            "message": f"Too many operations on this connection: the limit "
                            f"(max_subscriptions) is {limit}",
                            "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS", "limit": limit},
                        }
                    ],
                )
                return
            task = asyncio.get_running_loop().create_task(
                self._operate(identifier, message["payload"])
            )
            operations[identifier] = task
            self.running.add(task)
            task.add_done_callback(self.running.discard)
        elif kind == "complete":
            running = self.operations.pop(message["id"], None)
            if running is not None:
                running.cancel()
        elif kind == "ping":
            payload = message.get("payload")
            await self.web_socket.send(
                _PONG if payload is None else encode_json({"type": "pong", "payload": payload})
            )
        elif kind == "connection_init":
            raise _Protocol(TOO_MANY_INITS, "Too many initialisation requests")
        # pong: nothing to do

    async def _send(self, text: str) -> None:
        try:
            await self.web_socket.send(text)
        except Exception as error:  # the server's own error for a closed socket
            raise _Gone from error

    async def _send_error(self, id_json: str, errors: list[dict[str, Any]]) -> None:
        await self._send(
            '{"id":' + id_json + ',"type":"error","payload":' + encode_json(errors) + "}"
        )

    async def _operate(self, identifier: str, payload: dict[str, Any]) -> None:
        engine = self.handler.engine
        context = self.context
        assert context is not None  # subscribe is refused before the acknowledgement
        id_json = encode_json(identifier)
        next_head = '{"id":' + id_json + ',"type":"next","payload":'
        prepared: Prepared | list[Any] | None = None
        try:
            prepared = engine.prepare(
                payload["query"], payload.get("operationName"), payload.get("extensions")
            )
            if not isinstance(prepared, Prepared):
                await self._send_error(id_json, engine.format_errors(prepared)["errors"])
                return
            variables = payload.get("variables")
            if prepared.operation_type is _SUBSCRIPTION:
                outcome = await engine.subscribe(prepared, variables, context)
                if isinstance(outcome, ExecutionResult):
                    # The source stream could not be made: its errors end the operation.
                    errors = engine.format_result(outcome, prepared).get("errors")
                    await self._send_error(id_json, errors or [{"message": MASKED_MESSAGE}])
                    return
                await self._stream(outcome, next_head, prepared)
            else:
                result = await engine.execute(prepared, variables, context)
                await self._send(
                    next_head + encode_json(engine.format_result(result, prepared)) + "}"
                )
            await self._send('{"id":' + id_json + ',"type":"complete"}')
        except _Gone:
            pass
        except Exception as error:
            name = prepared.operation_name if isinstance(prepared, Prepared) else None
            LOGGER.exception(
                "GraphQL operation %s over WebSocket failed", repr(name) if name else "(anonymous)"
            )
            message = MASKED_MESSAGE if engine.mask_errors else str(error) or MASKED_MESSAGE
            try:
                await self._send_error(id_json, [{"message": message}])
            except _Gone:
                pass
        finally:
            task = asyncio.current_task()
            if self.operations.get(identifier) is task:
                del self.operations[identifier]

    async def _stream(
        self, stream: AsyncIterator[ExecutionResult], next_head: str, prepared: Prepared
    ) -> None:
        format_result = self.handler.engine.format_result
        send = self.web_socket.send  # the server's awaitable: no coroutine of ours per event
        sent = 0
        try:
            async for result in stream:
                text = next_head + encode_json(format_result(result, prepared)) + "}"
                try:
                    await send(text)
                except Exception as error:  # the server's own error for a closed socket
                    raise _Gone from error
                sent += 1
                if sent & _TURN_MASK == 0:
                    # A source that never awaits, and a server whose send returns at once
                    # (as after a disconnect), would hold the loop: the receive loop could
                    # never see the client go. A turn for the loop every 128 events.
                    await asyncio.sleep(0)
        finally:
            await close_stream(stream)

    async def end(self) -> None:
        """Cancel every running operation and wait until each has ended."""
        tasks = list(self.running)
        self.operations.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


__all__ = [
    "DEFAULT_CONNECTION_INIT_TIMEOUT",
    "DEFAULT_MAX_SUBSCRIPTIONS",
    "SUBPROTOCOL",
    "GraphQLWebSocketHandler",
]
