"""Static files for bareASGI: content types, validators, 304s, ranges, precompressed siblings.

`Application(plugins={'static': {'directory': 'public'}})` serves a folder at `/static`;
`add_static_files(app, 'public')` enables the same plugin on an application already made.
"""

from __future__ import annotations

from ._body import FileBody, FileChanged
from ._content_types import CONTENT_TYPES
from ._settings import DEFAULT_MOUNT, FINGERPRINTED, IMMUTABLE_CACHE_CONTROL, StaticSettings
from ._static import MAX_NAME_BYTES, MAX_PATH_LENGTH, MAX_SEGMENTS, StaticFiles
from .plugin import PLUGIN_NAME, StaticOptions, StaticState, add_static_files, static_state

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_MOUNT",
    "FINGERPRINTED",
    "IMMUTABLE_CACHE_CONTROL",
    "MAX_NAME_BYTES",
    "MAX_PATH_LENGTH",
    "MAX_SEGMENTS",
    "PLUGIN_NAME",
    "FileBody",
    "FileChanged",
    "StaticFiles",
    "StaticOptions",
    "StaticSettings",
    "StaticState",
    "add_static_files",
    "static_state",
]
