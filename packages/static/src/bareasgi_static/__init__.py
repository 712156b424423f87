"""Static files for bareASGI: content types, validators, 304s, ranges, precompressed siblings.

`add_static_files(app, 'public', '/static')` serves a folder as plain library code; the
`static` plugin does the same from options: `Application(plugins={'static': {...}})`.
"""

from __future__ import annotations

from ._body import FileBody, FileChanged
from ._content_types import CONTENT_TYPES
from ._settings import FINGERPRINTED, IMMUTABLE_CACHE_CONTROL, StaticSettings
from ._static import (
    MAX_NAME_BYTES,
    MAX_PATH_LENGTH,
    MAX_SEGMENTS,
    StaticFiles,
    add_static_files,
)
from .plugin import StaticOptions, StaticState, static_state

__all__ = [
    "CONTENT_TYPES",
    "FINGERPRINTED",
    "IMMUTABLE_CACHE_CONTROL",
    "MAX_NAME_BYTES",
    "MAX_PATH_LENGTH",
    "MAX_SEGMENTS",
    "FileBody",
    "FileChanged",
    "StaticFiles",
    "StaticOptions",
    "StaticSettings",
    "StaticState",
    "add_static_files",
    "static_state",
]
