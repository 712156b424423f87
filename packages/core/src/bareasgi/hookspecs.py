"""Every hook a bareASGI plugin can implement.

Plugins are enabled by name (`Application(plugins={'cors': {...}})`); installed is not enabled.
Core calls each enabled plugin's hooks itself, plugin by plugin, in the order the application
lists them — pluggy's own call order never decides anything a user sees. All hooks run while
the application is built (at construction, or at start-up for the composing hooks), never
per request. pluggy is synchronous: hooks return things, core awaits them.

Each hook receives `plugin`, the `EnabledPlugin` for the implementing plugin: its `.name`,
its validated `.options`, the `.app`, and `.state`, where the plugin keeps its own objects.

Hooks, in the order they are called:

1. `bareasgi_options_class` and `bareasgi_check_options` — configuration, at construction.
2. `bareasgi_setup` — the plugin builds its state, at construction.
3. `bareasgi_routes` — HTTP and WebSocket routes, added at construction.
4. `bareasgi_start` — once every plugin is set up, at start-up, before anything is composed.
5. `bareasgi_middleware` and `bareasgi_asgi_wrapper` — composed once, at start-up.
6. `bareasgi_lifespan` — entered at lifespan startup, exited at shutdown.
7. `bareasgi_template_globals` — called by a templating plugin, at `bareasgi_start`.

Core resolves each hook's implementations once, when a plugin is enabled, and calls them
itself in the application's plugin order: pluggy's `tryfirst`, `trylast` and `firstresult`
decide nothing (each plugin has at most one implementation of a hook).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final

import pluggy

from .types import ASGIWrapper, HttpMiddleware

if TYPE_CHECKING:
    from .plugins import EnabledPlugin, RouteSpec, WebSocketRouteSpec

PROJECT_NAME: Final = "bareasgi"
ENTRY_POINT_GROUP: Final = "bareasgi.plugins"

hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)

# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def bareasgi_options_class() -> type[Any] | None:
    """The plugin's options: a frozen dataclass whose fields are the options.

    Called once per enabled plugin at construction, and by `python -m bareasgi plugins` to
    list options and defaults. Core checks the user's options against the fields' types and
    builds the instance, collecting every problem (unknown, missing, mistyped) before raising.
    Lists are accepted where a field is a tuple or frozenset.

    :returns: The dataclass, or None (the default when unimplemented) for a plugin without
        options; it is then given an empty mapping of options.

    firstresult: yes. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


@hookspec
def bareasgi_check_options(options: Any) -> Iterable[str] | None:
    """Problems with the options that their types cannot express.

    Called once per enabled plugin at construction, after the options built cleanly from
    `bareasgi_options_class`. E.g. CORS refuses `allow_origins=['*']` with credentials.

    :param options: The options instance.
    :returns: Human-readable problems (each naming the option); empty or None when fine.
        Core collects the problems of every plugin and raises one `PluginOptionsError`.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


# ---------------------------------------------------------------------------------------------
# Building the application
# ---------------------------------------------------------------------------------------------


@hookspec
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    """Build the plugin's own state; set `plugin.state` to reach it later.

    Called once per enabled plugin at construction, in the application's plugin order, after
    every plugin's options validated and before any routes are added. Handlers reach the
    state through the plugin's documented accessor (e.g. from `app.plugins[name].state`),
    never through the user's `info`.

    :param plugin: The enabled plugin (name, options, app, state).

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


@hookspec
def bareasgi_routes(plugin: EnabledPlugin) -> Iterable[RouteSpec | WebSocketRouteSpec] | None:
    """HTTP and WebSocket routes the plugin serves (e.g. `/metrics`, `/static/{path:path}`).

    Called once per enabled plugin at construction, in plugin order, after `bareasgi_setup`.
    Core adds them to the application's routers; a route that clashes with another plugin's
    or the application's is refused at once, naming both. Routes are wrapped by the whole
    tuple middleware chain like any other.

    :param plugin: The enabled plugin.
    :returns: `RouteSpec(methods, path, handler, name)` and
        `WebSocketRouteSpec(path, handler, name)` items.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


@hookspec
def bareasgi_start(plugin: EnabledPlugin) -> None:
    """Work that needs every plugin set up and every route added (e.g. collecting other
    plugins' template globals).

    Called once per enabled plugin at start-up (lifespan startup, or the first request when
    the server sends no lifespan), in plugin order, before any middleware or ASGI wrapper is
    asked for. An exception fails the start-up.

    :param plugin: The enabled plugin.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


@hookspec
def bareasgi_middleware(plugin: EnabledPlugin) -> HttpMiddleware | None:
    """Tuple middleware `(scope, info, matches, content, handler) -> response`.

    Called once per enabled plugin at start-up (lifespan startup, or the first request when
    the server sends no lifespan), in plugin order. The first plugin's middleware is
    outermost; plugins' middleware wraps the application's own. It wraps routed handlers and
    404/405 answers, but not mounted apps or WebSocket handshakes (use an ASGI wrapper).

    :param plugin: The enabled plugin.
    :returns: The middleware, or None.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


@hookspec
def bareasgi_asgi_wrapper(plugin: EnabledPlugin) -> ASGIWrapper | None:
    """An ASGI wrapper: `wrap(asgi_app) -> asgi_app`, around the whole application.

    Called once per enabled plugin at start-up, in plugin order; the first plugin's wrapper
    is outermost and plugins' wrappers wrap the application's own. For concerns that must
    see every request: mounted apps, WebSocket handshakes, lifespan messages.

    :param plugin: The enabled plugin.
    :returns: The wrapper, or None.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


@hookspec
def bareasgi_lifespan(plugin: EnabledPlugin) -> AbstractAsyncContextManager[Any] | None:
    """An async context manager entered at lifespan startup and exited at shutdown.

    Called once per enabled plugin at lifespan startup. Plugins' contexts are entered in
    plugin order before the application's startup handlers run, and exited in reverse order
    after its shutdown handlers. An exception while entering fails the startup (the server
    refuses to start). Servers that send no lifespan never enter them; core logs a warning.

    :param plugin: The enabled plugin.
    :returns: The context manager, or None.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


# ---------------------------------------------------------------------------------------------
# Between plugins
# ---------------------------------------------------------------------------------------------


@hookspec
def bareasgi_template_globals(plugin: EnabledPlugin) -> Mapping[str, Any] | None:
    """Globals and filters a plugin offers to templates (e.g. `static_url`, `url_for`).

    Called by a templating plugin, not by core, through
    `app.plugin_results('bareasgi_template_globals')`: once, from its `bareasgi_start` (when
    every plugin is set up), getting each enabled plugin's answer in plugin order (later names
    win on a clash).
    Names starting with `filter:` are registered as filters, without the prefix.

    :param plugin: The enabled plugin.
    :returns: A mapping of names to values, or None.

    firstresult: no. Since 0.1.
    """
    raise NotImplementedError  # pragma: no cover - a specification


HOOK_NAMES: Final = tuple(name for name in tuple(globals()) if name.startswith("bareasgi_"))

__all__ = ["ENTRY_POINT_GROUP", "HOOK_NAMES", "PROJECT_NAME", "hookimpl", "hookspec"]
