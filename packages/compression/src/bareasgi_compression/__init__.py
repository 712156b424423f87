"""Response compression for bareASGI: gzip, Brotli and Zstandard, negotiated and streamed.

Use it through the plugin system, `Application(plugins={'compression': {...}})`, or from code
with `add_compression(app, ...)`, which enables the same plugin; both take the options of
`CompressionOptions`, and `compression_state(app)` (or `compression_state(scope)` in a
handler) returns its state, the `Compression`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bareasgi import Application, Scope, plugin_state
from bareasgi.options import string_list

from . import plugin
from ._compression import CompressedStream, Compression, DecodedBody
from .options import DEFAULT_CONTENT_TYPES, KNOWN_ENCODINGS, CompressionOptions
from .plugin import PLUGIN_NAME


def compression_state(target: Application | Scope) -> Compression:
    """The state of the `compression` plugin on an application, or on the one serving `scope`.

    Raises:
        PluginNotEnabledError: The plugin is not enabled there.
        TypeError: A plugin of another package is enabled under the name `compression`.
    """
    return plugin_state(target, PLUGIN_NAME, Compression)


def add_compression(
    app: Application,
    *,
    encodings: Iterable[str] = KNOWN_ENCODINGS,
    minimum_size: int = 500,
    content_types: Iterable[str] = DEFAULT_CONTENT_TYPES,
    flush_content_types: Iterable[str] = ("text/event-stream",),
    gzip_level: int = 6,
    brotli_quality: int = 4,
    zstd_level: int = 3,
    decompress_requests: bool = False,
) -> Compression:
    """Compress `app`'s responses: enable the `compression` plugin from code, with these options.

    Its middleware is placed as the plugin's always is: among plugins' middleware, after the
    plugins already enabled, and so outside all of the application's own middleware.

    Returns:
        The plugin's state, `compression_state(app)`.

    Raises:
        PluginOptionsError: listing every problem with the options.
        RuntimeError: when the application has already started.
        PluginError: when the `compression` plugin is already enabled on `app`.
    """
    options = CompressionOptions(
        encodings=tuple(string_list(encodings)),
        minimum_size=minimum_size,
        content_types=tuple(string_list(content_types)),
        flush_content_types=tuple(string_list(flush_content_types)),
        gzip_level=gzip_level,
        brotli_quality=brotli_quality,
        zstd_level=zstd_level,
        decompress_requests=decompress_requests,
    )
    app.plugins.enable(plugin, options)
    return compression_state(app)


__all__ = [
    "DEFAULT_CONTENT_TYPES",
    "KNOWN_ENCODINGS",
    "PLUGIN_NAME",
    "CompressedStream",
    "Compression",
    "CompressionOptions",
    "DecodedBody",
    "add_compression",
    "compression_state",
]
