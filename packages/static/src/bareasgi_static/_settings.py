"""The settings of one mount, shared by `add_static_files` and the plugin's options."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bareasgi.headers import TOKEN_PATTERN, is_token
from bareasgi.options import option

ENCODING_SUFFIXES: Final[Mapping[str, str]] = {"br": ".br", "zstd": ".zst", "gzip": ".gz"}
"""The content codings a precompressed sibling may have, and its file name suffix."""

FINGERPRINTED: Final = r"[.-](?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\.[A-Za-z0-9]+$"
"""Names such as `app.3f2a9c1b.js` or `site-0d8e41ab77.css`: a dot or dash, eight or more
lower-case hex digits (at least one digit and one letter, so `20240101` or `deadbeef` are not
taken for hashes), then the extension."""

IMMUTABLE_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"

DEFAULT_MOUNT: Final = "/static"
"""Where a folder is served unless told otherwise: in `StaticSettings`, the plugin's options
(and each of its `mounts`) and `add_static_files` alike."""

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]").search
_CONTENT_TYPE: Final = re.compile(
    TOKEN_PATTERN + "/" + TOKEN_PATTERN + r"(?:\s*;\s*[^\x00-\x1f\x7f]*)?"
).fullmatch


@dataclass(frozen=True, kw_only=True)
class StaticSettings:
    """What one mount serves and how. `add_static_files` takes these as keyword arguments."""

    directory: str | None = option(
        "the folder to serve (relative to the working directory)", default=None
    )
    mount: str = option("the URL path the folder is served under", default=DEFAULT_MOUNT)
    index: str | None = option("file served for a directory; None: no index", default="index.html")
    fallback: str | None = option(
        "file (relative to the folder) served with 200 for a missing path: SPAs", default=None
    )
    allow_dotfiles: bool = option(
        "serve names starting with '.' (never '.' or '..')", default=False
    )
    allow_outside_symlinks: bool = option(
        "follow symlinks that point outside the folder", default=False
    )
    precompressed: tuple[str, ...] = option(
        "codings of .br/.zst/.gz siblings to serve, preferred first; () for none",
        default=("br", "gzip"),
    )
    cache_control: str | None = option("cache-control value for every file", default=None)
    immutable: bool | str = option(
        "True, or a regex: matching (fingerprinted) names get a year's max-age, immutable",
        default=False,
    )
    content_types: Mapping[str, str] = option(
        "extension -> content type, over the built-in table", default_factory=dict
    )
    default_content_type: str = option(
        "type for unknown extensions", default="application/octet-stream"
    )
    charset: str | None = option("charset added to text types", default="utf-8")
    chunk_size: int = option("bytes read and sent at a time", default=256 * 1024)
    max_ranges: int = option(
        "more ranges than this in one request: the Range is ignored", default=16
    )
    name: str | None = option("route name, for app.url_for", default=None)

    def problems(self) -> list[str]:
        """Everything wrong with these settings, each naming the option."""
        problems: list[str] = []
        if self.directory is None:
            problems.append("option 'directory' is required")
        elif not os.path.isdir(self.directory):
            problems.append(f"option 'directory': {self.directory!r} is not a directory")
        problems.extend(_mount_problems(self.mount))
        if self.index is not None and not _is_plain_name(self.index):
            problems.append(
                f"option 'index': {self.index!r} must be a file name, without '/' or '\\'"
            )
        if self.fallback is not None and relative_segments(self.fallback, True) is None:
            problems.append(
                f"option 'fallback': {self.fallback!r} must be a relative path inside the "
                "folder, without '..', '\\' or empty segments"
            )
        unknown = [coding for coding in self.precompressed if coding not in ENCODING_SUFFIXES]
        if unknown:
            problems.append(
                f"option 'precompressed': unknown coding(s) {', '.join(map(repr, unknown))}"
                f" (known: {', '.join(ENCODING_SUFFIXES)})"
            )
        if len(set(self.precompressed)) != len(self.precompressed):
            problems.append("option 'precompressed' names a coding twice")
        if self.cache_control is not None and (
            not self.cache_control.strip() or _CONTROL(self.cache_control)
        ):
            problems.append("option 'cache_control' must be a non-empty header value")
        if isinstance(self.immutable, str):
            try:
                re.compile(self.immutable)
            except re.error as error:
                problems.append(f"option 'immutable': {self.immutable!r} is not a regex: {error}")
        for extension, content_type in self.content_types.items():
            if not extension or "/" in extension or _CONTROL(extension):
                problems.append(f"option 'content_types': {extension!r} is not an extension")
            if not _CONTENT_TYPE(content_type):
                problems.append(
                    f"option 'content_types': {content_type!r} (for {extension!r}) is not a"
                    " content type"
                )
        if not _CONTENT_TYPE(self.default_content_type):
            problems.append(
                f"option 'default_content_type': {self.default_content_type!r} is not a"
                " content type"
            )
        if self.charset is not None and not is_token(self.charset):
            problems.append(f"option 'charset': {self.charset!r} is not a charset name")
        if not 1024 <= self.chunk_size <= 16 * 1024 * 1024:
            problems.append("option 'chunk_size' must be between 1024 and 16 MiB")
        if self.max_ranges < 1:
            problems.append("option 'max_ranges' must be at least 1")
        if self.name is not None and not self.name:
            problems.append("option 'name' must not be empty")
        return problems


def _mount_problems(mount: str) -> list[str]:
    if mount == "/":
        return []
    if not mount.startswith("/") or mount.endswith("/"):
        return [f"option 'mount': {mount!r} must look like '/' or '/static' or '/a/b'"]
    segments = mount[1:].split("/")
    if any(not _is_plain_name(segment) or "{" in segment or "}" in segment for segment in segments):
        return [
            f"option 'mount': {mount!r} must be literal segments (no '{{', '}}', '.', '..',"
            " '\\' or empty segments)"
        ]
    return []


def _is_plain_name(name: str) -> bool:
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and _CONTROL(name) is None
    )


def relative_segments(path: str, allow_dotfiles: bool) -> list[str] | None:
    """The segments of a relative path proven inside its root by text alone, or None.

    Refused: empty segments (so absolute paths and `a//b`), `.` and `..`, names starting
    with `.` (unless `allow_dotfiles`), backslashes, colons (drive letters, NTFS streams)
    and control characters (NUL included). A trailing slash is the caller's business.
    """
    if _UNSAFE(path) is not None:
        return None
    segments = path.split("/")
    for segment in segments:
        if not segment or (segment[0] == "." and (not allow_dotfiles or segment in (".", ".."))):
            return None
    return segments


_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f\\:]").search


__all__ = [
    "DEFAULT_MOUNT",
    "ENCODING_SUFFIXES",
    "FINGERPRINTED",
    "IMMUTABLE_CACHE_CONTROL",
    "StaticSettings",
    "relative_segments",
]
