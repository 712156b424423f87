"""The Application: routing, middleware, errors, WebSockets, lifespan and mounts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AsyncExitStack
from typing import Any, Final, TypeVar, final
from urllib.parse import unquote

from ._guard import guard
from ._http import (
    DEFAULT_MAX_BODY_SIZE,
    ROUTE_KEY,
    HeaderMemory,
    RequestBody,
    ResponseError,
    describe,
    fast_response,
    send_response,
    unpack_response,
)
from ._request import request_path
from .errors import ClientDisconnected, HttpError, InvalidPath
from .plugins import APP_KEY, Plugins, PluginsSpec, implemented_hooks
from .routing import HttpRouter, Route, WebSocketRouter, _check_route_options, split_path
from .types import (
    ASGIApp,
    ASGIWrapper,
    BindableMiddleware,
    Content,
    Headers,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    LifespanHandler,
    Matches,
    Receive,
    Scope,
    Send,
)
from .websockets import CONNECTED, CONNECTING, WebSocket

LOGGER: Final = logging.getLogger("bareasgi")

ALLOW_KEY: Final = "bareasgi.allow"
"""Scope key holding the allowed methods (a frozenset) when the answer is 405."""

ErrorResponse = tuple[int, Headers, bytes]
_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
_ALLOW_VALUES: Final[dict[frozenset[str], bytes]] = {}
"""`allow` header values by method set: few sets exist, so they are made once."""

H = TypeVar("H", bound=Callable[..., Any])


def _error_body(response: ErrorResponse) -> tuple[int, Headers, bytes]:
    status, headers, body = response
    return status, list(headers), body


@final
class Application:
    """An ASGI application.

    Args:
        middlewares: Tuple middleware, first outermost:
            `async def mw(scope, info, matches, content, handler) -> response`.
        info: The application's dict, passed to every handler.
        startup_handlers: `async def handler(scope, info, message)` run at lifespan startup.
        shutdown_handlers: The same, run at lifespan shutdown.
        asgi_wrappers: Callables taking an ASGI app and returning one around it, first
            outermost; they see every request, mounts and WebSocket handshakes included.
        max_body_size: Request bodies larger than this are answered 413.
        timeout: Seconds a request may take (None, the default: no limit); a route's own
            `timeout` takes its place. Past it, a handler that has not answered is cancelled
            and 503 is sent; a response still streaming is cut off.
        cancel_on_disconnect: Cancel a handler whose client goes away before it answers (off
            by default: it costs a task per request); a route's own choice takes its place.
        not_found_response, method_not_allowed_response, internal_error_response,
        bad_request_response: `(status, headers, body)` sent for 404, 405 (an `allow` header
            is added), 500 and 400 (invalid path encoding).
        plugins: Plugins to enable, by entry-point name or as plugin objects, with options:
            `{'cors': {'allow_origins': [...]}, 'prometheus': {}}` or a list of names,
            `(name, options)` pairs and objects. The order is the middleware order, first
            outermost; plugins' middleware wraps the application's own.
    """

    def __init__(
        self,
        *,
        middlewares: Iterable[HttpMiddleware] | None = None,
        info: Info | None = None,
        startup_handlers: Iterable[LifespanHandler] | None = None,
        shutdown_handlers: Iterable[LifespanHandler] | None = None,
        asgi_wrappers: Iterable[ASGIWrapper] | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        timeout: float | None = None,
        cancel_on_disconnect: bool = False,
        not_found_response: ErrorResponse = (404, [_TEXT], b"Not Found"),
        method_not_allowed_response: ErrorResponse = (405, [_TEXT], b"Method Not Allowed"),
        internal_error_response: ErrorResponse = (500, [_TEXT], b"Internal Server Error"),
        bad_request_response: ErrorResponse = (400, [_TEXT], b"Bad Request"),
        plugins: PluginsSpec | None = None,
    ) -> None:
        self.info: Info = info if info is not None else {}
        self._http_router = HttpRouter()
        self._checked = HeaderMemory()
        """Response header pairs found valid, this application's own (see `fast_response`)."""
        self._ws_router = WebSocketRouter()
        self.startup_handlers: list[LifespanHandler] = list(startup_handlers or ())
        self.shutdown_handlers: list[LifespanHandler] = list(shutdown_handlers or ())
        self.max_body_size = max_body_size
        _check_route_options("(the application)", None, timeout, cancel_on_disconnect)
        self.timeout = timeout
        """The request time limit of routes that set none (None: no limit)."""
        self.cancel_on_disconnect = cancel_on_disconnect
        """Whether routes that do not say cancel their handler when the client goes away."""
        self.not_found_response = not_found_response
        self.method_not_allowed_response = method_not_allowed_response
        self.internal_error_response = internal_error_response
        self.bad_request_response = bad_request_response
        self._middlewares: list[HttpMiddleware] = []
        self._asgi_wrappers: list[ASGIWrapper] = []
        self._mounts: list[tuple[tuple[str, ...], str, ASGIApp]] = []
        self._started = False
        self._direct = False  # started, with no ASGI wrappers: __call__ serves HTTP itself
        self._outer: ASGIApp | None = None
        self._not_found_call: HttpHandler = self._not_found
        self._not_allowed_call: HttpHandler = self._not_allowed
        self._bad_request_call: HttpHandler = self._bad_request
        for middleware in middlewares or ():
            self.add_middleware(middleware)
        for wrapper in asgi_wrappers or ():
            self.add_asgi_wrapper(wrapper)
        self._exit_stack: AsyncExitStack | None = None
        self._lifespan_seen = False
        self.plugins = Plugins(self)
        """The enabled plugins, in order; `app.plugins.state(name, kind)` is a plugin's state.
        There before any plugin hook runs."""
        self.plugins.enable_all(plugins)

    # ---- building ---------------------------------------------------------------------------

    @property
    def http_router(self) -> HttpRouter:
        """Routes HTTP requests: `app.http_router.add({'GET'}, '/path', handler)`."""
        return self._http_router

    @property
    def ws_router(self) -> WebSocketRouter:
        """Routes WebSocket connections: `app.ws_router.add('/path', handler)`."""
        return self._ws_router

    @property
    def started(self) -> bool:
        """True once the middleware chain has been composed (at startup or the first call)."""
        return self._started

    @property
    def middlewares(self) -> tuple[HttpMiddleware, ...]:
        return tuple(self._middlewares)

    def _check_not_started(self, what: str) -> None:
        if self._started:
            raise RuntimeError(f"Cannot add {what} after the application has started")

    def add_middleware(self, middleware: HttpMiddleware, *, outermost: bool = False) -> None:
        """Add tuple middleware inside those already added (or outside them: `outermost`).

        Plugins' middleware still wraps the application's own, whichever way it is added.
        """
        self._check_not_started("middleware")
        if not callable(middleware):
            raise TypeError(f"middleware {middleware!r} is not callable")
        if outermost:
            self._middlewares.insert(0, middleware)
        else:
            self._middlewares.append(middleware)

    def add_asgi_wrapper(self, wrapper: ASGIWrapper, *, outermost: bool = False) -> None:
        """Add an ASGI wrapper inside those already added (or outside them: `outermost`)."""
        self._check_not_started("an ASGI wrapper")
        if not callable(wrapper):
            raise TypeError(f"ASGI wrapper {wrapper!r} is not callable")
        if outermost:
            self._asgi_wrappers.insert(0, wrapper)
        else:
            self._asgi_wrappers.append(wrapper)

    def mount(self, prefix: str, app: ASGIApp) -> None:
        """Serve another ASGI app under `prefix`: whole segments, `path` kept, `root_path` extended.

        Routes are tried first; among mounts the longest prefix wins.
        """
        if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
            raise ValueError(f"mount prefix {prefix!r} must look like '/name' or '/a/b'")
        segments = tuple(prefix[1:].split("/"))
        if any(existing == segments for existing, _, _ in self._mounts):
            raise ValueError(f"mount prefix {prefix!r} is already mounted")
        self._mounts.append((segments, prefix, app))
        self._mounts.sort(key=lambda mount: -len(mount[0]))

    def on_http_request(
        self,
        methods: AbstractSet[str] | str,
        path: str,
        *,
        name: str | None = None,
        max_body_size: int | None = None,
        timeout: float | None = None,
        cancel_on_disconnect: bool | None = None,
    ) -> Callable[[H], H]:
        """Decorator: route `methods` on `path` to the decorated async handler.

        The options are `HttpRouter.add`'s: `name`, and the route's own `max_body_size`,
        `timeout` and `cancel_on_disconnect` in place of the application's.
        """
        method_set = {methods} if isinstance(methods, str) else methods

        def decorator(handler: H) -> H:
            self.http_router.add(
                method_set,
                path,
                handler,
                name=name,
                max_body_size=max_body_size,
                timeout=timeout,
                cancel_on_disconnect=cancel_on_disconnect,
            )
            return handler

        return decorator

    def on_ws_request(self, path: str, *, name: str | None = None) -> Callable[[H], H]:
        """Decorator: route WebSocket connections on `path` to the decorated async handler."""

        def decorator(handler: H) -> H:
            self.ws_router.add(path, handler, name=name)
            return handler

        return decorator

    def on_startup(self, handler: LifespanHandler) -> LifespanHandler:
        """Decorator: run `handler(scope, info, message)` at lifespan startup."""
        self.startup_handlers.append(handler)
        return handler

    def on_shutdown(self, handler: LifespanHandler) -> LifespanHandler:
        """Decorator: run `handler(scope, info, message)` at lifespan shutdown."""
        self.shutdown_handlers.append(handler)
        return handler

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of the named HTTP or WebSocket route with `params` filled in."""
        try:
            return self.http_router.url_for(name, **params)
        except KeyError:
            if not any(route.name == name for route in self.ws_router):
                raise
        return self.ws_router.url_for(name, **params)

    def plugin_results(self, hook: str) -> list[tuple[Any, Any]]:
        """Call a plugin hook on every enabled plugin in order: `(plugin, answer)` pairs.

        For hooks between plugins, such as `bareasgi_template_globals`.
        """
        return self.plugins.results(hook)

    def start(self) -> None:
        """Compose the middleware chain and ASGI wrappers; called once, at the first event."""
        if self._started:
            return
        self.plugins.results("bareasgi_start")
        plugin_middlewares = [mw for _, mw in self.plugins.results("bareasgi_middleware")]
        plugin_wrappers = [wrap for _, wrap in self.plugins.results("bareasgi_asgi_wrapper")]
        middlewares = (*plugin_middlewares, *self._middlewares)
        wrap: Callable[[HttpHandler], HttpHandler] | None = None
        if middlewares:

            def wrap(handler: HttpHandler) -> HttpHandler:
                return _compose(middlewares, handler)

            self._not_found_call = wrap(self._not_found)
            self._not_allowed_call = wrap(self._not_allowed)
            self._bad_request_call = wrap(self._bad_request)
        self.http_router.set_wrapper(wrap, guard=self._guard)
        outer: ASGIApp | None = None
        wrappers = [*plugin_wrappers, *self._asgi_wrappers]
        if wrappers:
            outer = self._inner_app
            for wrapper in reversed(wrappers):
                outer = wrapper(outer)
        self._outer = outer
        self._direct = outer is None
        self._started = True

    def _guard(self, route: Route, call: HttpHandler) -> HttpHandler:
        """The route's call within its time limit and cancelled on a disconnect, if it has
        either (its own options, or the application's); `call` itself otherwise."""
        timeout = route.timeout if route.timeout is not None else self.timeout
        cancel = route.cancel_on_disconnect
        if cancel is None:
            cancel = self.cancel_on_disconnect
        return guard(route, call, timeout, cancel)

    # ---- ASGI -------------------------------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, _inside: bool = False
    ) -> None:
        """The ASGI entry point. HTTP requests are served right here: the hot path.

        Servers call it with three arguments. When nothing wraps the application, HTTP goes
        straight on below; everything else (the first call, ASGI wrappers, WebSockets,
        lifespan) goes through `_outside`, whose innermost app (`_inner_app`) calls back in here,
        once, with `_inside` set. (A call through a helper would cost a coroutine per request.)
        """
        if not (_inside or (self._direct and scope["type"] == "http")):
            await self._outside(scope, receive, send)
            return
        scope[APP_KEY] = self
        raw_path: bytes | None
        try:  # subscripts cost less than .get(); servers send both keys (ASGI makes them optional)
            raw_path = scope["raw_path"]
            # `63 in` (the byte '?') is many times faster than `b"?" in` on CPython 3.12.
            if raw_path is None or scope["root_path"] or 63 in raw_path:
                raw_path = request_path(scope)
        except KeyError:
            raw_path = request_path(scope)
        method: str = scope["method"]
        route: Route | None
        matches: Matches | None
        call: HttpHandler
        try:
            found = self._http_router.lookup(method, raw_path)
            if found is None and raw_path[:1] != b"/" and b"://" in raw_path:
                # An absolute-form target (`GET http://host/path`) that the server passed on
                # as it came: route its path, as RFC 9112 asks of servers.
                raw_path = _origin_form(scope, raw_path)
                found = self._http_router.lookup(method, raw_path)
        except InvalidPath:
            route, matches, call = None, {}, self._bad_request_call
        else:
            if found is not None:
                route, matches, allowed = found
                scope[ROUTE_KEY] = route
                if allowed is None:
                    call = route.call
                else:  # other methods only: 405
                    scope[ALLOW_KEY] = allowed
                    call = self._not_allowed_call
                if matches is None:
                    matches = {}
            elif self._mounts and await self._to_mount(scope, raw_path, receive, send):
                return  # a mounted app answered
            else:
                route, matches, call = None, {}, self._not_found_call

        content = RequestBody(scope, receive)  # its limit is found if it is read
        try:
            response: Any
            try:
                response = await call(scope, self.info, matches, content)
            except HttpError as error:
                response = error.as_response()
            except ClientDisconnected:
                return
            except Exception:
                LOGGER.exception("Unhandled error in %s", describe(route, scope))
                response = _error_body(self.internal_error_response)

            ready = fast_response(response, self._checked)
            if ready is not None:
                status, headers, data = ready
                if method == "HEAD":
                    data = b""
                try:
                    await send(
                        {"type": "http.response.start", "status": status, "headers": headers}
                    )
                    await send({"type": "http.response.body", "body": data})
                except OSError:  # ASGI 2.4: send raises once the client has gone
                    pass
                return
            try:
                status, headers, body, pushes = unpack_response(response)
                await send_response(
                    scope, content, send, status, headers, body, pushes, route, self._checked
                )
            except OSError:  # ASGI 2.4: send raises once the client has gone
                return
            except asyncio.CancelledError:
                # The time limit, or the client leaving, between the handler and the stream.
                task = asyncio.current_task()
                if (content.expired or content.disconnected) and task and task.uncancel() == 0:
                    return
                raise
            except ResponseError as error:
                LOGGER.error(
                    "%s returned an ill-formed response: %s", describe(route, scope), error
                )
                status, headers, body = _error_body(self.internal_error_response)
                await send_response(scope, content, send, status, headers, body, None, route)
        finally:
            if content.cleanups is not None:
                await content.run_cleanups()

    async def _outside(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Everything but the direct hot path: start-up, then the ASGI wrappers, if any."""
        if not self._started:
            self.start()
            if scope["type"] != "lifespan":
                self._warn_without_lifespan()
        await (self._outer or self._inner_app)(scope, receive, send)

    async def _inner_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application within its ASGI wrappers: routes each kind of scope."""
        kind = scope["type"]
        if kind == "http":
            await self(scope, receive, send, True)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            raise ValueError(f"unknown ASGI scope type {kind!r}")

    async def _not_found(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return _error_body(self.not_found_response)

    async def _bad_request(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return _error_body(self.bad_request_response)

    async def _not_allowed(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        status, headers, body = _error_body(self.method_not_allowed_response)
        methods: frozenset[str] = scope.get(ALLOW_KEY) or frozenset()
        allow = _ALLOW_VALUES.get(methods)
        if allow is None:
            allow = ", ".join(sorted(methods)).encode()
            if len(_ALLOW_VALUES) < 1024:
                _ALLOW_VALUES[methods] = allow
        headers.append((b"allow", allow))
        return status, headers, body

    async def _to_mount(self, scope: Scope, raw_path: bytes, receive: Receive, send: Send) -> bool:
        try:
            segments = split_path(raw_path)
        except InvalidPath:
            return False
        for prefix_segments, prefix, app in self._mounts:
            if tuple(segments[: len(prefix_segments)]) == prefix_segments:
                child = dict(scope)
                child["root_path"] = (scope.get("root_path") or "") + prefix
                await app(child, receive, send)
                return True
        return False

    # ---- WebSockets -------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[APP_KEY] = self
        raw_path = request_path(scope)
        invalid = False
        try:
            found = self._ws_router.resolve(raw_path)
        except InvalidPath:
            found, invalid = None, True
        if (
            found is None
            and not invalid
            and self._mounts
            and await self._to_mount(scope, raw_path, receive, send)
        ):
            return
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        web_socket = WebSocket(scope, receive, send)
        if found is None:
            refusal = self.bad_request_response if invalid else self.not_found_response
            await web_socket.reject(*_error_body(refusal))
            return
        route, matches = found
        scope[ROUTE_KEY] = route
        try:
            await route.call(scope, self.info, matches, web_socket)
        except Exception:
            LOGGER.exception("Unhandled error in WebSocket %s", describe(route, scope))
            if web_socket.state == CONNECTING:
                status, headers, body = _error_body(self.internal_error_response)
                await web_socket.reject(status, headers, body)
            elif web_socket.state == CONNECTED:
                await web_socket.close(1011, "Internal error")
            return
        if web_socket.state != CONNECTING:
            await web_socket.close()
        else:
            await web_socket.reject(403)

    # ---- lifespan ---------------------------------------------------------------------------

    def _warn_without_lifespan(self) -> None:
        names = [p.name for p in self.plugins if "bareasgi_lifespan" in implemented_hooks(p.plugin)]
        if names and not self._lifespan_seen:
            LOGGER.warning(
                "The server sent no lifespan events: the start-up of plugins %s did not run",
                ", ".join(names),
            )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._lifespan_seen = True
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "lifespan.startup":
                try:
                    self._exit_stack = AsyncExitStack()
                    for _, context in self.plugins.results("bareasgi_lifespan"):
                        await self._exit_stack.enter_async_context(context)
                    for handler in self.startup_handlers:
                        await handler(scope, self.info, message)
                except Exception as error:
                    LOGGER.exception("Application startup failed")
                    await self._close_plugins()
                    await send({"type": "lifespan.startup.failed", "message": f"{error!r}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif kind == "lifespan.shutdown":
                try:
                    try:
                        for handler in self.shutdown_handlers:
                            await handler(scope, self.info, message)
                    finally:
                        await self._close_plugins()
                except Exception as error:
                    LOGGER.exception("Application shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": f"{error!r}"})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _close_plugins(self) -> None:
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            await stack.aclose()


def _origin_form(scope: Scope, raw_path: bytes) -> bytes:
    """The path of an absolute-form target, written into the scope as the request's path."""
    origin = b"/" + raw_path.split(b"://", 1)[1].partition(b"/")[2].partition(b"?")[0]
    scope["raw_path"] = origin
    scope["path"] = unquote(origin.decode("latin-1"))
    return origin


@final
class _Bindable:
    """What `bindable` makes: middleware from a `bind_handler` function."""

    __slots__ = ("bind_handler", "catches_http_error")

    def __init__(
        self, bind_handler: Callable[[HttpHandler], HttpHandler], catches_http_error: bool
    ) -> None:
        self.bind_handler = bind_handler
        self.catches_http_error = catches_http_error

    async def __call__(
        self, scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        return await self.bind_handler(handler)(scope, info, matches, content)

    def __repr__(self) -> str:
        return f"bindable({getattr(self.bind_handler, '__qualname__', self.bind_handler)!r})"


def bindable(
    bind_handler: Callable[[HttpHandler], HttpHandler], *, catches_http_error: bool = False
) -> BindableMiddleware:
    """Middleware from `bind_handler(inner) -> handler`, composed once: a call less per request.

    Args:
        bind_handler: Takes the inner handler and returns the handler with this middleware's
            work around it.
        catches_http_error: The handlers it returns turn an `HttpError` raised inside them
            into `error.as_response()` themselves.
    """
    return _Bindable(bind_handler, catches_http_error)


def _compose(middlewares: Sequence[HttpMiddleware], handler: HttpHandler) -> HttpHandler:
    """Wrap `handler` in `middlewares` (first outermost); HttpError becomes a response inside."""
    *outer, last = middlewares
    call: HttpHandler
    if isinstance(last, BindableMiddleware) and last.catches_http_error:
        # The innermost middleware turns HttpError into a response itself: one call less.
        call = last.bind_handler(handler)
    else:
        call = _layer(last, _answering_errors(handler))
    for middleware in reversed(outer):
        call = _layer(middleware, call)
    return call


def _answering_errors(handler: HttpHandler) -> HttpHandler:
    async def innermost(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        try:
            return await handler(scope, info, matches, content)
        except HttpError as error:
            return error.as_response()

    return innermost


def _layer(middleware: HttpMiddleware, inner: HttpHandler) -> HttpHandler:
    if isinstance(middleware, BindableMiddleware):
        return middleware.bind_handler(inner)

    async def layer(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await middleware(scope, info, matches, content, inner)

    return layer


__all__ = ["ALLOW_KEY", "APP_KEY", "ROUTE_KEY", "Application", "bindable"]
