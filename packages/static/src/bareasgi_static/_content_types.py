"""The package's own table of content types, by file extension.

The system's mime.types (which `mimetypes` reads) differs from machine to machine, so the same
file could be served as `text/javascript` on one host and `application/octet-stream` on
another; this table is the same everywhere. Extensions are lower case, without the dot.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

CONTENT_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # text and documents
        "html": "text/html",
        "htm": "text/html",
        "xhtml": "application/xhtml+xml",
        "css": "text/css",
        "js": "text/javascript",
        "mjs": "text/javascript",
        "cjs": "text/javascript",
        "json": "application/json",
        "jsonld": "application/ld+json",
        "map": "application/json",
        "webmanifest": "application/manifest+json",
        "xml": "application/xml",
        "xsl": "application/xml",
        "rss": "application/rss+xml",
        "atom": "application/atom+xml",
        "txt": "text/plain",
        "text": "text/plain",
        "log": "text/plain",
        "md": "text/markdown",
        "markdown": "text/markdown",
        "csv": "text/csv",
        "tsv": "text/tab-separated-values",
        "ics": "text/calendar",
        "vtt": "text/vtt",
        "yaml": "application/yaml",
        "yml": "application/yaml",
        "toml": "application/toml",
        "pdf": "application/pdf",
        "rtf": "application/rtf",
        "epub": "application/epub+zip",
        "doc": "application/msword",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls": "application/vnd.ms-excel",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt": "application/vnd.ms-powerpoint",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation",
        # images
        "png": "image/png",
        "apng": "image/apng",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "jfif": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "avif": "image/avif",
        "jxl": "image/jxl",
        "svg": "image/svg+xml",
        "ico": "image/vnd.microsoft.icon",
        "bmp": "image/bmp",
        "tif": "image/tiff",
        "tiff": "image/tiff",
        "heic": "image/heic",
        # fonts
        "woff": "font/woff",
        "woff2": "font/woff2",
        "ttf": "font/ttf",
        "otf": "font/otf",
        "eot": "application/vnd.ms-fontobject",
        # audio and video
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
        "aac": "audio/aac",
        "oga": "audio/ogg",
        "ogg": "audio/ogg",
        "opus": "audio/ogg",
        "wav": "audio/wav",
        "flac": "audio/flac",
        "weba": "audio/webm",
        "mid": "audio/midi",
        "midi": "audio/midi",
        "mp4": "video/mp4",
        "m4v": "video/mp4",
        "webm": "video/webm",
        "ogv": "video/ogg",
        "mov": "video/quicktime",
        "avi": "video/x-msvideo",
        "mpeg": "video/mpeg",
        "mpg": "video/mpeg",
        "mkv": "video/x-matroska",
        "ts": "video/mp2t",
        "m3u8": "application/vnd.apple.mpegurl",
        "mpd": "application/dash+xml",
        # archives and binaries
        "wasm": "application/wasm",
        "zip": "application/zip",
        "gz": "application/gzip",
        "tgz": "application/gzip",
        "br": "application/x-brotli",
        "zst": "application/zstd",
        "bz2": "application/x-bzip2",
        "xz": "application/x-xz",
        "7z": "application/x-7z-compressed",
        "tar": "application/x-tar",
        "rar": "application/vnd.rar",
        "jar": "application/java-archive",
        "bin": "application/octet-stream",
        "exe": "application/octet-stream",
        "dmg": "application/octet-stream",
        "iso": "application/octet-stream",
    }
)

_TEXTUAL: Final = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/xml",
        "application/yaml",
        "application/toml",
        "image/svg+xml",
    }
)


def is_textual(content_type: str) -> bool:
    """Whether a type is text that takes a `charset` parameter."""
    main = content_type.partition(";")[0].strip().lower()
    return (
        main.startswith("text/")
        or main in _TEXTUAL
        or (main.startswith("application/") and main.endswith(("+json", "+xml")))
    )


def with_charset(content_type: str, charset: str | None) -> str:
    """The type with `; charset=...` added where it is text and has none."""
    if charset and is_textual(content_type) and "charset=" not in content_type.lower():
        return f"{content_type}; charset={charset}"
    return content_type


def header_table(extra: Mapping[str, str] | None, charset: str | None) -> dict[str, bytes]:
    """Extension → content-type header value, the user's entries over the package's."""
    table = dict(CONTENT_TYPES)
    for extension, content_type in (extra or {}).items():
        table[extension.lower().lstrip(".")] = content_type
    return {
        extension: with_charset(content_type, charset).encode("latin-1")
        for extension, content_type in table.items()
    }


__all__ = ["CONTENT_TYPES", "header_table", "is_textual", "with_charset"]
