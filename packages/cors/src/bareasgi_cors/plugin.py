"""The `cors` plugin: thin glue between bareASGI's hooks and `CorsPolicy`.

Enable it with `Application(plugins={'cors': {'allow_origins': [...]}})`, or from code with
`bareasgi_cors.add_cors_middleware(app, ...)`, which enables this very module. Its tuple
middleware sits at the plugin's place in the application's plugin order (first is outermost;
plugins' middleware wraps the application's own); with `guard_websockets` it also contributes
an ASGI wrapper. Its state is the `CorsPolicy`, reached with `bareasgi_cors.cors_state(app)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from bareasgi import EnabledPlugin, hookimpl
from bareasgi.types import ASGIWrapper, HttpMiddleware

from .options import CorsOptions
from .policy import CorsPolicy

PLUGIN_NAME: Final = "cors"
"""The plugin's name: its entry point's, and this module's when it is passed as an object."""

name: Final = PLUGIN_NAME


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return CorsOptions


@hookimpl
def bareasgi_check_options(options: CorsOptions) -> Iterable[str]:
    return options.problems()


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    plugin.state = CorsPolicy(plugin.options)


@hookimpl
def bareasgi_middleware(plugin: EnabledPlugin) -> HttpMiddleware:
    policy: CorsPolicy = plugin.state
    return policy.middleware


@hookimpl
def bareasgi_asgi_wrapper(plugin: EnabledPlugin) -> ASGIWrapper | None:
    policy: CorsPolicy = plugin.state
    return policy.websocket_guard if policy.options.guard_websockets else None
