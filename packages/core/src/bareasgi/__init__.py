"""bareASGI: a lightweight, fast ASGI web framework.

Handlers take `(scope, info, matches, content)` and return a status or a
`(status, headers, body, pushes)` tuple; headers stay ASGI's lists of `(bytes, bytes)`.
"""

from __future__ import annotations

from ._http import RequestBody, final_status
from .applications import ALLOW_KEY, APP_KEY, ROUTE_KEY, Application, bindable
from .errors import ClientDisconnected, HttpError, InvalidPath
from .hookspecs import hookimpl
from .plugins import (
    EnabledPlugin,
    PluginError,
    PluginNotEnabledError,
    PluginOptionsError,
    RouteSpec,
    WebSocketRouteSpec,
    plugin_state,
)
from .routing import HttpRouter, Route, WebSocketRouter
from .streaming import (
    BytesBody,
    ChunkedBody,
    bytes_reader,
    bytes_writer,
    text_reader,
    text_writer,
)
from .types import (
    ASGIApp,
    BindableMiddleware,
    Content,
    Headers,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    LifespanHandler,
    Matches,
    Scope,
)
from .websockets import WebSocket, WebSocketClosed

__all__ = [
    "ALLOW_KEY",
    "APP_KEY",
    "ROUTE_KEY",
    "ASGIApp",
    "Application",
    "BindableMiddleware",
    "BytesBody",
    "ChunkedBody",
    "ClientDisconnected",
    "Content",
    "EnabledPlugin",
    "Headers",
    "HttpError",
    "HttpHandler",
    "HttpMiddleware",
    "HttpResponse",
    "HttpRouter",
    "Info",
    "InvalidPath",
    "LifespanHandler",
    "Matches",
    "PluginError",
    "PluginNotEnabledError",
    "PluginOptionsError",
    "RequestBody",
    "Route",
    "RouteSpec",
    "Scope",
    "WebSocket",
    "WebSocketClosed",
    "WebSocketRouteSpec",
    "WebSocketRouter",
    "bindable",
    "bytes_reader",
    "bytes_writer",
    "final_status",
    "hookimpl",
    "plugin_state",
    "text_reader",
    "text_writer",
]
