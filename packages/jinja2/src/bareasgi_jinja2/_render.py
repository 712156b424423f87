"""Rendering templates into bareASGI responses: small pages whole, large pages streamed."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, NoReturn, final

import jinja2

from bareasgi import (
    Application,
    BytesBody,
    ChunkedBody,
    Content,
    Headers,
    HttpError,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Scope,
    plugin_state,
    text_writer,
)

from ._environment import content_type_for, content_type_problem

LOGGER: Final = logging.getLogger("bareasgi_jinja2")

PLUGIN_NAME: Final = "jinja2"
"""The plugin's name: `Application(plugins={'jinja2': {...}})`, `app.plugins['jinja2']`."""

DEFAULT_BUFFER_SIZE: Final = 16 * 1024
DEFAULT_CHUNK_SIZE: Final = 16 * 1024
_CACHE_SIZE: Final = 1024
_FILTER_PREFIX: Final = "filter:"

TemplateHandler = Callable[
    [Scope, Info, Matches, Content], Awaitable[Mapping[str, Any] | HttpResponse]
]
"""A handler decorated with `@template(...)`: returns the context, or a response of its own."""


@final
class Renderer:
    """Renders an environment's templates as responses for one application.

    Made by the `jinja2` plugin (enabled by name or by `add_jinja2`), whose state it is:
    handlers reach it with `jinja2_state(scope)`, through the application core puts in the
    scope (`render_template` does). No middleware is involved.

    Making one adds the global `url_for(name, **params)`, the application's (a `url_for`
    the environment already has is kept); `install_globals` adds other plugins' globals.

    Args:
        app: The application: its named routes back `url_for`, its 500 answer is sent when
            a template fails before the response started.
        environment: The Jinja2 environment (async or not).
        buffer_size: Characters rendered before the headers go out: a page of at most this
            many is sent whole, in one message, with a content-length.
        chunk_size: The least number of characters per message for the rest of a large page.
        content_types: Extensions (no dot) mapped to content types, over the defaults.
    """

    __slots__ = (
        "_content_types",
        "_globals_installed",
        "_is_async",
        "_loaded",
        "_overrides",
        "app",
        "buffer_size",
        "chunk_size",
        "environment",
    )

    def __init__(
        self,
        app: Application,
        environment: jinja2.Environment,
        *,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        content_types: Mapping[str, str] | None = None,
    ) -> None:
        if buffer_size < 1 or chunk_size < 1:
            raise ValueError("buffer_size and chunk_size must be positive")
        overrides = {key.lstrip(".").lower(): value for key, value in (content_types or {}).items()}
        for key, value in overrides.items():
            problem = content_type_problem(value)
            if problem is not None:
                raise ValueError(f"content type for {key!r} {problem}")
        self.app = app
        self.environment = environment
        self.buffer_size = buffer_size
        self.chunk_size = chunk_size
        self._overrides = overrides
        self._is_async = environment.is_async
        self._content_types: dict[str, bytes] = {}
        self._loaded: dict[str, tuple[jinja2.Template, tuple[bytes, bytes]]] = {}
        self._globals_installed = False
        # The application's own helper, there from the start (a user's `url_for` is kept).
        environment.globals.setdefault("url_for", app.url_for)

    # ---- set-up -----------------------------------------------------------------------------

    def install_globals(self) -> None:
        """Add what enabled plugins offer to the environment; once.

        Each enabled plugin's `bareasgi_template_globals` answer, in plugin order, later names
        winning; names starting with `filter:` become filters. (`url_for(name, **params)`,
        the application's, is added when the renderer is made.) The plugin calls this at
        start-up (`bareasgi_start`), when every plugin is set up.
        """
        if self._globals_installed:
            return
        self._globals_installed = True
        environment = self.environment
        for plugin, answer in self.app.plugin_results("bareasgi_template_globals"):
            if not isinstance(answer, Mapping):
                raise TypeError(
                    f"plugin {plugin.name!r}: bareasgi_template_globals returned"
                    f" {type(answer).__name__}, not a mapping"
                )
            for key, value in answer.items():
                if not isinstance(key, str) or not key:
                    raise TypeError(
                        f"plugin {plugin.name!r}: template global {key!r} is not a name"
                    )
                if key.startswith(_FILTER_PREFIX):
                    if not callable(value):
                        raise TypeError(f"plugin {plugin.name!r}: filter {key!r} is not callable")
                    environment.filters[key[len(_FILTER_PREFIX) :]] = value
                else:
                    environment.globals[key] = value

    # ---- rendering --------------------------------------------------------------------------

    def content_type(self, name: str) -> bytes:
        """The content-type header value for template `name` (cached)."""
        found = self._content_types.get(name)
        if found is None:
            if len(self._content_types) >= _CACHE_SIZE:
                self._content_types.clear()  # names may come from requests: stay bounded
            found = content_type_for(name, self._overrides).encode("latin-1")
            self._content_types[name] = found
        return found

    def _load(self, name: str) -> tuple[jinja2.Template, tuple[bytes, bytes]]:
        """The template and its content-type header, kept by name.

        Jinja's own `get_template` makes a weak reference and takes a lock on every call;
        this keeps the answer in a dict and still checks the file when `auto_reload` is on.
        """
        loaded = self._loaded.get(name)
        environment = self.environment
        if loaded is not None and (not environment.auto_reload or loaded[0].is_up_to_date):
            return loaded
        template = environment.get_template(name)
        loaded = template, (b"content-type", self.content_type(name))
        if environment.cache is not None:  # a user's environment may cache nothing
            if len(self._loaded) >= _CACHE_SIZE:
                self._loaded.clear()
            self._loaded[name] = loaded
        return loaded

    async def render(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        headers: Iterable[tuple[bytes, bytes]] | None = None,
        content_type: str | None = None,
    ) -> tuple[int, Headers, BytesBody | ChunkedBody | TemplateStream]:
        """Render template `name` with `context` as a response.

        The first `buffer_size` characters are rendered before this returns, so a missing
        template or an early error answers the application's 500 (and is logged with the
        template's name and line). A page that ends within them is one `BytesBody`;
        a longer one streams the rest in chunks of at least `chunk_size` characters, and an
        error there is logged and ends the response (the headers are gone).
        """
        variables = context if type(context) is dict else dict(context or ())
        limit = self.buffer_size
        parts: list[str] = []
        size = 0
        try:
            template, content_type_header = self._load(name)
            events = template.root_render_func(template.new_context(variables))
            head: Headers = [
                content_type_header
                if content_type is None
                else (b"content-type", _header_value(content_type))
            ]
            if headers is not None:
                head.extend(headers)
            if self._is_async:
                async for part in events:  # type: ignore[attr-defined]
                    parts.append(part)
                    size += len(part)
                    if size > limit:
                        break
                else:
                    return status, head, text_writer("".join(parts))
            else:
                for part in events:
                    parts.append(part)
                    size += len(part)
                    if size > limit:
                        break
                else:
                    return status, head, text_writer("".join(parts))
        except HttpError:
            raise  # a helper answering e.g. 404 from inside the template: its answer stands
        except Exception as error:
            raise self._failed_early(name, error) from None
        return status, head, TemplateStream(self, name, "".join(parts).encode(), events)

    # ---- errors -----------------------------------------------------------------------------

    def _failed_early(self, name: str, error: Exception) -> HttpError:
        """Log a failure before the headers went out; the application's 500 to answer with."""
        where = template_location(error)
        rewritten = self._rewritten(error)
        LOGGER.error(
            "Template %r failed%s: %s: %s",
            name,
            _describe_location(where),
            type(error).__name__,
            error,
            exc_info=rewritten,
        )
        status, error_headers, body = self.app.internal_error_response
        return HttpError(status, body, list(error_headers))

    def _failed_late(self, name: str, error: Exception) -> NoReturn:
        """Log a failure while streaming and re-raise it: the core ends the connection."""
        where = template_location(error)
        LOGGER.error(
            "Template %r failed%s after its response started: %s: %s",
            name,
            _describe_location(where),
            type(error).__name__,
            error,
        )
        # Jinja rewrites the traceback to point at template lines for the core's log.
        self.environment.handle_exception()

    def _rewritten(self, error: Exception) -> BaseException:
        try:
            self.environment.handle_exception()
        except BaseException as rewritten:  # it always raises
            return rewritten


@final
class TemplateStream:
    """The rest of a large page: the part rendered before the headers, then chunks of at
    least `chunk_size` characters. Closing it (the client went away, a HEAD request) closes
    the template's generator; an error is logged and raised, which ends the response."""

    __slots__ = ("_async", "_done", "_events", "_first", "_name", "_renderer")

    def __init__(
        self,
        renderer: Renderer,
        name: str,
        first: bytes,
        events: Iterator[str] | AsyncIterator[str],
    ) -> None:
        self._renderer = renderer
        self._name = name
        self._first: bytes | None = first
        self._events = events
        self._async = renderer.environment.is_async
        self._done = False

    def __aiter__(self) -> TemplateStream:
        return self

    async def __anext__(self) -> bytes:
        first = self._first
        if first is not None:
            self._first = None
            return first
        if self._done:
            raise StopAsyncIteration
        events = self._events
        limit = self._renderer.chunk_size
        parts: list[str] = []
        size = 0
        try:
            if self._async:
                async for part in events:  # type: ignore[union-attr]
                    parts.append(part)
                    size += len(part)
                    if size >= limit:
                        return "".join(parts).encode()
            else:
                for part in events:  # type: ignore[union-attr]
                    parts.append(part)
                    size += len(part)
                    if size >= limit:
                        return "".join(parts).encode()
        except Exception as error:
            await self.aclose()
            self._renderer._failed_late(self._name, error)
        self._done = True
        if parts:
            return "".join(parts).encode()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop rendering: close the template's generator (its `finally` blocks run)."""
        self._done = True
        self._first = None
        events = self._events
        if self._async:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        else:
            close = getattr(events, "close", None)
            if close is not None:
                close()


def _header_value(value: str) -> bytes:
    problem = content_type_problem(value)
    if problem is not None:
        raise ValueError(f"content type {value!r} {problem}")
    return value.encode("latin-1")


def template_location(error: BaseException) -> tuple[str | None, int | None]:
    """The template name and line an error happened at, innermost first; (None, None)."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        return error.name or error.filename, error.lineno
    found: tuple[str | None, int | None] = (None, None)
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        namespace = tb.tb_frame.f_globals
        template = namespace.get("__jinja_template__")
        if template is not None:
            found = (
                template.name or template.filename,
                template.get_corresponding_lineno(tb.tb_lineno),
            )
        elif "__jinja_exception__" in namespace:  # a frame Jinja already rewrote
            found = _short_name(namespace.get("__file__")), tb.tb_lineno
        tb = tb.tb_next
    if found == (None, None) and isinstance(error, jinja2.TemplateNotFound):
        return (error.name if isinstance(error.name, str) else None), None
    return found


def _short_name(filename: object) -> str | None:
    return os.path.basename(filename) if isinstance(filename, str) else None


def _describe_location(where: tuple[str | None, int | None]) -> str:
    name, line = where
    if name is None:
        return ""
    if line is None:
        return f" (in {name!r})"
    return f" (in {name!r}, line {line})"


# ---- the handler-facing API ---------------------------------------------------------------------


def jinja2_state(target: Application | Scope) -> Renderer:
    """The `Renderer` of the jinja2 plugin on an application, or on the one serving a scope.

    Raises:
        bareasgi.PluginNotEnabledError: jinja2 is not enabled there (neither the plugin nor
            `add_jinja2`).
        TypeError: The plugin named `jinja2` on the application is not this package's.
    """
    return plugin_state(target, PLUGIN_NAME, Renderer)


async def render_template(
    scope: Scope,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Iterable[tuple[bytes, bytes]] | None = None,
    content_type: str | None = None,
) -> tuple[int, Headers, BytesBody | ChunkedBody | TemplateStream]:
    """Render template `name` with `context` as the response to this request.

    `return await render_template(scope, 'page.html', {'name': name})`. The content type
    follows the name's extension unless `content_type` is given; `headers` are added.
    """
    return await jinja2_state(scope).render(
        name, context, status=status, headers=headers, content_type=content_type
    )


def template(
    name: str,
    *,
    status: int = 200,
    headers: Iterable[tuple[bytes, bytes]] | None = None,
    content_type: str | None = None,
) -> Callable[[TemplateHandler], HttpHandler]:
    """Decorator: the handler returns the template's context, rendered with template `name`.

    A handler that returns anything but a mapping (a status, a response tuple) has that
    returned unchanged, e.g. for a redirect.
    """
    extra = tuple(headers) if headers is not None else None

    def decorator(handler: TemplateHandler) -> HttpHandler:
        @functools.wraps(handler)
        async def render(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            result = await handler(scope, info, matches, content)
            if isinstance(result, Mapping):
                return await render_template(
                    scope, name, result, status=status, headers=extra, content_type=content_type
                )
            return result

        return render

    return decorator


__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "PLUGIN_NAME",
    "Renderer",
    "TemplateHandler",
    "TemplateStream",
    "jinja2_state",
    "render_template",
    "template",
    "template_location",
]
