"""CORS for bareASGI, as the Fetch standard has it.

Use it through the plugin system, `Application(plugins={'cors': {...}})`, or from code with
`add_cors_middleware(app, ...)`, which enables the same plugin; both take the options of
`CorsOptions`, and `cors_state(app)` (or `cors_state(scope)` in a handler) returns the policy.
"""

from __future__ import annotations

from collections.abc import Iterable

from bareasgi import Application, Scope, plugin_state
from bareasgi.options import string_list

from . import plugin
from .options import SAFELISTED_HEADERS, SAFELISTED_METHODS, CorsOptions
from .plugin import PLUGIN_NAME
from .policy import CorsConfigError, CorsPolicy


def cors_state(target: Application | Scope) -> CorsPolicy:
    """The policy of the `cors` plugin on an application, or on the one serving `scope`.

    Raises:
        PluginNotEnabledError: The plugin is not enabled there.
        TypeError: A plugin of another package is enabled under the name `cors`.
    """
    return plugin_state(target, PLUGIN_NAME, CorsPolicy)


def add_cors_middleware(
    app: Application,
    *,
    allow_origins: Iterable[str] = (),
    allow_origin_regex: str | None = None,
    allow_methods: Iterable[str] = ("GET", "HEAD", "POST"),
    allow_headers: Iterable[str] = (),
    allow_credentials: bool = False,
    expose_headers: Iterable[str] = (),
    max_age: int | None = 600,
    allow_private_network: bool = False,
    guard_websockets: bool = False,
) -> CorsPolicy:
    """Answer CORS for `app`: enable the `cors` plugin from code, with these options.

    Its middleware is placed as the plugin's always is: among plugins' middleware, after the
    plugins already enabled, and so outside all of the application's own middleware —
    preflights are answered before any of it can refuse them. With `guard_websockets`, its
    ASGI wrapper likewise wraps the application's own wrappers. Clean-up is the plugin's.

    Returns:
        The compiled policy, `cors_state(app)` (`allows_origin(origin)` tells a handler what
        it would answer).

    Raises:
        CorsConfigError: listing every problem with the options.
        RuntimeError: when the application has already started.
        PluginError: when the `cors` plugin is already enabled on `app`.
    """
    options = CorsOptions(
        allow_origins=tuple(string_list(allow_origins)),
        allow_origin_regex=allow_origin_regex,
        allow_methods=tuple(string_list(allow_methods)),
        allow_headers=tuple(string_list(allow_headers)),
        allow_credentials=allow_credentials,
        expose_headers=tuple(string_list(expose_headers)),
        max_age=max_age,
        allow_private_network=allow_private_network,
        guard_websockets=guard_websockets,
    )
    problems = options.problems()
    if problems:  # the error this function has always raised, before the plugin's own
        raise CorsConfigError(problems)
    app.plugins.enable(plugin, options)
    return cors_state(app)


__all__ = [
    "PLUGIN_NAME",
    "SAFELISTED_HEADERS",
    "SAFELISTED_METHODS",
    "CorsConfigError",
    "CorsOptions",
    "CorsPolicy",
    "add_cors_middleware",
    "cors_state",
]
