"""bareASGI: a lightweight, fast ASGI web framework.

Handlers take `(scope, info, matches, content)` and return a status or a
`(status, headers, body, pushes)` tuple; headers stay ASGI's lists of `(bytes, bytes)`.
"""

from __future__ import annotations

from ._http import RequestBody, body_limit, final_status
from .applications import ALLOW_KEY, APP_KEY, ROUTE_KEY, Application, bindable
from .cookies import delete_cookie_header, request_cookies, set_cookie_header
from .errors import ClientDisconnected, HttpError, InvalidPath
from .forms import Form, UploadFile, read_form
from .hookspecs import hookimpl
from .jsonbody import json_errors, json_response, read_json
from .plugins import (
    EnabledPlugin,
    PluginError,
    PluginNotEnabledError,
    PluginOptionsError,
    RouteSpec,
    WebSocketRouteSpec,
    plugin_state,
)
from .query import QUERY_KEY, query_params, query_value, query_values, url_with_query
from .redirects import redirect, redirect_slashes, safe_redirect_target
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
    "QUERY_KEY",
    "ROUTE_KEY",
    "ASGIApp",
    "Application",
    "BindableMiddleware",
    "BytesBody",
    "ChunkedBody",
    "ClientDisconnected",
    "Content",
    "EnabledPlugin",
    "Form",
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
    "UploadFile",
    "WebSocket",
    "WebSocketClosed",
    "WebSocketRouteSpec",
    "WebSocketRouter",
    "bindable",
    "body_limit",
    "bytes_reader",
    "bytes_writer",
    "delete_cookie_header",
    "final_status",
    "hookimpl",
    "json_errors",
    "json_response",
    "plugin_state",
    "query_params",
    "query_value",
    "query_values",
    "read_form",
    "read_json",
    "redirect",
    "redirect_slashes",
    "request_cookies",
    "safe_redirect_target",
    "set_cookie_header",
    "text_reader",
    "text_writer",
    "url_with_query",
]
