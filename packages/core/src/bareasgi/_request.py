"""What the request helpers (query, JSON, forms, cookies, redirects) and core share: the request
path as received, a header of the scope, a media type, and the
`application/x-www-form-urlencoded` parser (WHATWG URL, section 5)."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote, unquote_to_bytes

from .errors import HttpError
from .types import Scope

_PARAM: Final = re.compile(r';[ \t]*([^\s=;]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^;]*)')


def header_value(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the request header `name` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def media_type(value: bytes | None, utf8: bool = False) -> tuple[str, dict[str, str]]:
    """A content-type split into its lower-case `type/subtype` and its parameters.

    Parameter names are lower case; quoted values are unquoted (`\\"` and `\\\\` only: browsers
    percent-encode quotes in form names and leave backslashes as they are). The value is
    Latin-1, or with `utf8` UTF-8 when it decodes (browsers send a multipart part's
    filename as UTF-8).
    """
    if not value:
        return "", {}
    try:
        text = value.decode("utf-8" if utf8 else "latin-1")
    except UnicodeDecodeError:
        text = value.decode("latin-1")
    kind, _, rest = text.partition(";")
    params: dict[str, str] = {}
    if rest:
        for name, raw in _PARAM.findall(";" + rest):
            params.setdefault(name.lower(), unquote_parameter(raw.strip(" \t")))
    return kind.strip(" \t").lower(), params


def unquote_parameter(raw: str) -> str:
    """A parameter value as written: a quoted-string's content, or the token itself."""
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1].replace("\\\\", "\\").replace('\\"', '"')
    return raw


def decode_component(raw: bytes) -> str:
    """One name or value of an urlencoded string: `+` is a space, `%XX` a byte (a `%` not
    followed by two hex digits is kept as it is), then UTF-8 with U+FFFD for invalid bytes."""
    if 43 in raw:  # b"+"
        raw = raw.replace(b"+", b" ")
    if 37 in raw:  # b"%"
        raw = unquote_to_bytes(raw)
    return raw.decode("utf-8", "replace")


def count_fields(pieces: list[bytes]) -> int:
    """How many of the `&`-separated pieces are fields (empty ones are skipped)."""
    return len(pieces) - pieces.count(b"")


def too_many_fields(what: str, limit: int) -> HttpError:
    return HttpError(400, f"More than {limit} fields in the {what}")


def add_pairs(
    pieces: list[bytes],
    into: dict[str, list[str]],
    max_field_size: int | None = None,
    what: str = "form",
) -> None:
    """Decode `name=value` pieces into `into` (repeated names keep every value, in order).

    Raises:
        HttpError: 413 when a piece is longer than `max_field_size` bytes.
    """
    for piece in pieces:
        if not piece:
            continue
        if max_field_size is not None and len(piece) > max_field_size:
            raise field_too_large(what, max_field_size)
        name, _, value = piece.partition(b"=")
        key = decode_component(name)
        values = into.get(key)
        if values is None:
            into[key] = [decode_component(value)]
        else:
            values.append(decode_component(value))


def field_too_large(what: str, limit: int) -> HttpError:
    return HttpError(413, f"A field of the {what} is larger than {limit} bytes")


_PATH_SAFE: Final = "/!$&'()*+,;=:@-._~"
"""What a path keeps unquoted when it is re-encoded from `path` (RFC 3986 pchar and `/`)."""


def request_path(scope: Scope) -> bytes:
    """The request path as received: `raw_path` (or `path` re-encoded), less `root_path`."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        raw = quote(scope["path"], safe=_PATH_SAFE).encode("ascii")
    elif 63 in raw:  # b"?"
        raw = raw.partition(b"?")[0]
    root = scope.get("root_path")
    if root:
        for prefix in (
            root.encode("utf-8", "surrogateescape"),
            quote(root, safe=_PATH_SAFE).encode(),
        ):
            if raw.startswith(prefix) and raw[len(prefix) : len(prefix) + 1] in (b"", b"/"):
                return raw[len(prefix) :] or b"/"
    return raw
