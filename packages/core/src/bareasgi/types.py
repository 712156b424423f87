"""Type aliases for handlers, middleware and the ASGI interface."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, Protocol, TypeAlias, runtime_checkable

# ASGI
Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = Mapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
ASGIWrapper: TypeAlias = Callable[[ASGIApp], ASGIApp]
"""Takes the whole application and returns an ASGI app around it."""

# The framework
Info: TypeAlias = dict[str, Any]
"""The application's own dict, shared by every handler."""
Matches: TypeAlias = dict[str, Any]
"""The route parameters, converted to their types."""
Content: TypeAlias = AsyncIterable[bytes]
"""The request body, read lazily."""
Header: TypeAlias = tuple[bytes, bytes]
Headers: TypeAlias = list[tuple[bytes, bytes]]
Body: TypeAlias = AsyncIterable[bytes] | bytes
PushResponse: TypeAlias = tuple[str, Iterable[Header]]
Pushes: TypeAlias = Iterable[PushResponse]
HttpResponse: TypeAlias = (
    int
    | tuple[int]
    | tuple[int, Headers | None]
    | tuple[int, Headers | None, Body | None]
    | tuple[int, Headers | None, Body | None, Pushes | None]
)
HttpHandler: TypeAlias = Callable[[Scope, Info, Matches, Content], Awaitable[HttpResponse]]
HttpMiddleware: TypeAlias = Callable[
    [Scope, Info, Matches, Content, HttpHandler], Awaitable[HttpResponse]
]
LifespanHandler: TypeAlias = Callable[[Scope, Info, Message], Awaitable[None]]


@runtime_checkable
class BindableMiddleware(Protocol):
    """Tuple middleware that can close over its inner handler once, when the chain is composed.

    Core composes the chain once; for such middleware it calls `bind_handler(inner)` and uses
    what it returns as the layer, which saves a call per request. Called as plain middleware,
    it behaves the same. `catches_http_error` says that the handler `bind_handler` returns
    turns an `HttpError` raised inside it into its response (`error.as_response()`) itself, so
    core adds no layer for that when this middleware is innermost. `bareasgi.bindable(...)`
    makes one from a `bind_handler` function.
    """

    catches_http_error: bool

    async def __call__(
        self, scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse: ...

    def bind_handler(self, handler: HttpHandler) -> HttpHandler: ...


__all__ = [
    "ASGIApp",
    "ASGIWrapper",
    "BindableMiddleware",
    "Body",
    "Content",
    "Header",
    "Headers",
    "HttpHandler",
    "HttpMiddleware",
    "HttpResponse",
    "Info",
    "LifespanHandler",
    "Matches",
    "Message",
    "PushResponse",
    "Pushes",
    "Receive",
    "Scope",
    "Send",
]
