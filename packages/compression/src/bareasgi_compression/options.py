"""Compression options: a frozen dataclass, and the checks its types cannot express."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bareasgi.headers import is_token
from bareasgi.options import option

KNOWN_ENCODINGS: Final = ("zstd", "br", "gzip")
"""The content codings this package can produce, in its default order of preference."""

DEFAULT_CONTENT_TYPES: Final = (
    "text/*",
    "application/json",
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "application/xml",
    "application/x-ndjson",
    "image/svg+xml",
    "+json",
    "+xml",
)
"""Media types worth compressing: text, JSON, JavaScript, XML, SVG and the `+json`/`+xml` kinds."""

_MEDIA_TYPE: Final = re.compile(r"[a-z0-9!#$&^_.+-]+/(?:\*|[a-z0-9!#$&^_.+-]+)|\+[a-z0-9!#$&^_.-]+")


@dataclass(frozen=True)
class CompressionOptions:
    """How responses are compressed. Lists are accepted where a tuple is expected."""

    encodings: tuple[str, ...] = option(
        "content codings offered, the server's preference first (between equal q-values); "
        "'br' and 'zstd' only when their package is installed",
        default=KNOWN_ENCODINGS,
    )
    minimum_size: int = option(
        "bodies smaller than this many bytes are sent as they are", default=500
    )
    content_types: tuple[str, ...] = option(
        "media types compressed: 'type/subtype', 'type/*', or a '+suffix'",
        default=DEFAULT_CONTENT_TYPES,
    )
    flush_content_types: tuple[str, ...] = option(
        "streamed media types flushed after every chunk (each chunk reaches the client at once)",
        default=("text/event-stream",),
    )
    gzip_level: int = option("gzip (zlib) level, 1 to 9", default=6)
    brotli_quality: int = option("Brotli quality, 0 to 11", default=4)
    zstd_level: int = option("Zstandard level, 1 to 22", default=3)
    decompress_requests: bool = option(
        "decode 'content-encoding: gzip' request bodies, counted against the body limit",
        default=False,
    )

    def problems(self) -> list[str]:
        """Every problem with these options, each naming the option; empty when they are fine."""
        problems: list[str] = []
        if not self.encodings:
            problems.append("option 'encodings' is empty: name at least one of zstd, br, gzip")
        for name in self.encodings:
            if name not in KNOWN_ENCODINGS:
                problems.append(
                    f"option 'encodings': {name!r} is not one of {', '.join(KNOWN_ENCODINGS)}"
                )
        if len(set(self.encodings)) != len(self.encodings):
            problems.append("option 'encodings' names an encoding twice")
        if self.minimum_size < 0:
            problems.append(f"option 'minimum_size' must not be negative, not {self.minimum_size}")
        for field in ("content_types", "flush_content_types"):
            for value in getattr(self, field):
                if _MEDIA_TYPE.fullmatch(value) is None or not all(
                    is_token(part) for part in value.lstrip("+").split("/") if part != "*"
                ):
                    problems.append(
                        f"option {field!r}: {value!r} is not a lower-case media type "
                        "('text/html', 'text/*' or '+json')"
                    )
        for field, low, high in (
            ("gzip_level", 1, 9),
            ("brotli_quality", 0, 11),
            ("zstd_level", 1, 22),
        ):
            value = getattr(self, field)
            if not low <= value <= high:
                problems.append(f"option {field!r} must be from {low} to {high}, not {value}")
        return problems


__all__ = ["DEFAULT_CONTENT_TYPES", "KNOWN_ENCODINGS", "CompressionOptions"]
