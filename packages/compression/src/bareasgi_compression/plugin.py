"""The `compression` plugin: thin glue between bareASGI's hooks and `Compression`.

Enable it with `Application(plugins={'compression': {}})`, or from code with
`bareasgi_compression.add_compression(app, ...)`, which enables this very module. Its tuple
middleware sits at the plugin's place in the application's plugin order (first is outermost;
plugins' middleware wraps the application's own). Its state is the `Compression`, reached with
`bareasgi_compression.compression_state(app)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from bareasgi import EnabledPlugin, hookimpl
from bareasgi.plugins import implemented_hooks
from bareasgi.types import HttpMiddleware

from ._compression import Compression
from .options import CompressionOptions

PLUGIN_NAME: Final = "compression"
"""The plugin's name: its entry point's, and this module's when it is passed as an object."""

name: Final = PLUGIN_NAME


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return CompressionOptions


@hookimpl
def bareasgi_check_options(options: CompressionOptions) -> Iterable[str]:
    return options.problems()


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    plugin.state = Compression(plugin.options)


@hookimpl
def bareasgi_middleware(plugin: EnabledPlugin) -> HttpMiddleware:
    compression: Compression = plugin.state
    if _outermost(plugin):
        return compression.outermost_middleware()
    return compression.middleware


def _outermost(plugin: EnabledPlugin) -> bool:
    """Whether no plugin before this one contributes middleware: then only core is outside."""
    for enabled in plugin.app.plugins:
        if enabled is plugin:
            return True
        if "bareasgi_middleware" in implemented_hooks(enabled.plugin):
            return False
    return False
