"""CORS for bareASGI, as the Fetch standard has it.

Use it through the plugin system, `Application(plugins={'cors': {...}})`, or on its own with
`add_cors_middleware(app, ...)`; both take the options of `CorsOptions`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bareasgi import Application

from .options import SAFELISTED_HEADERS, SAFELISTED_METHODS, CorsOptions
from .policy import CorsConfigError, CorsPolicy

PLUGIN_NAME = "cors"


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
    """Answer CORS for `app`: its middleware goes outermost among the application's own.

    Preflights must be answered before any other middleware can refuse them, so the CORS
    middleware is put in front of the middleware already added (plugins enabled by name still
    wrap it, in their own order). With `guard_websockets`, an ASGI wrapper refusing WebSocket
    handshakes from origins not allowed goes in front of the application's wrappers too.

    Returns:
        The compiled policy (`allows_origin(origin)` tells a handler what it would answer).

    Raises:
        CorsConfigError: listing every problem with the options.
        RuntimeError: when the application has already started.
    """
    policy = CorsPolicy(
        CorsOptions(
            allow_origins=tuple(_strings(allow_origins)),
            allow_origin_regex=allow_origin_regex,
            allow_methods=tuple(_strings(allow_methods)),
            allow_headers=tuple(_strings(allow_headers)),
            allow_credentials=allow_credentials,
            expose_headers=tuple(_strings(expose_headers)),
            max_age=max_age,
            allow_private_network=allow_private_network,
            guard_websockets=guard_websockets,
        )
    )
    if app.started:
        raise RuntimeError("Cannot add CORS middleware after the application has started")
    # Preflights must be answered before any of the application's own middleware runs.
    app.add_middleware(policy.middleware, outermost=True)
    if guard_websockets:
        app.add_asgi_wrapper(policy.websocket_guard, outermost=True)
    return policy


def _strings(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"expected a list of strings, not the string {values!r}")
    return list(values)


def cors_policy(app: Application) -> CorsPolicy:
    """The policy of the `cors` plugin enabled on `app` (its `plugin.state`).

    Raises:
        KeyError: when the plugin is not enabled on `app`.
    """
    state = app.plugins[PLUGIN_NAME].state
    if not isinstance(state, CorsPolicy):
        raise TypeError(f"the plugin named {PLUGIN_NAME!r} is not bareasgi-cors")
    return state


__all__ = [
    "PLUGIN_NAME",
    "SAFELISTED_HEADERS",
    "SAFELISTED_METHODS",
    "CorsConfigError",
    "CorsOptions",
    "CorsPolicy",
    "add_cors_middleware",
    "cors_policy",
]
