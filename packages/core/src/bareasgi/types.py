"""Type aliases for handlers, middleware and the ASGI interface."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, TypeAlias

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

__all__ = [
    "ASGIApp",
    "ASGIWrapper",
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
