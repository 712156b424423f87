"""Redirects: a one-call answer, a guard for targets a client supplied, and an optional
per-application redirect of a missing or extra trailing slash.

Trailing slashes stay significant unless the application asks (`redirect_slashes(app)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, quote_from_bytes, urlsplit

from ._request import request_path
from .applications import ROUTE_KEY, Application, bindable
from .errors import HttpError, InvalidPath
from .types import Content, Headers, HttpHandler, HttpResponse, Info, Matches, Scope

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_LOCATION_SAFE: Final = "!#$%&'()*+,/:;=?@[]~-._"
"""What a location keeps as it is: RFC 3986's reserved and unreserved characters, and `%`."""
_STRAY_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TAB_OR_NEWLINE: Final = re.compile(r"[\t\n\r]")
_C0_OR_SPACE: Final = "".join(chr(i) for i in range(0x21))
_PATH_SAFE: Final = b"/!$&'()*+,;=:@-._~%"


def encode_location(location: str) -> bytes:
    """A `location` value: everything but RFC 3986's reserved and unreserved characters
    percent-encoded (UTF-8), so CR, LF, spaces, quotes and backslashes never reach the
    header; `%XX` escapes are kept, a stray `%` becomes `%25`."""
    encoded = quote(location, safe=_LOCATION_SAFE)
    if "%" in encoded:
        encoded = _STRAY_PERCENT.sub("%25", encoded)
    return encoded.encode("ascii")


def redirect(
    location: str, status: int = 303, headers: Headers | None = None
) -> tuple[int, Headers, bytes]:
    """Answer a redirect: `return redirect('/done')`.

    303 (See Other: GET the location, the answer to a form POST) by default; 307 and 308 keep
    the method and body, 301 and 302 are the old ones. The location is percent-encoded
    (`encode_location`). For a target the client supplied, check it with `safe_redirect_target`
    first.

    Raises:
        ValueError: `status` is not a redirect status.
    """
    if status not in REDIRECT_STATUSES:
        raise ValueError(f"redirect: {status} is not a redirect status (301, 302, 303, 307, 308)")
    answer: Headers = [(b"location", encode_location(location))]
    if headers:
        answer.extend(headers)
    return status, answer, b""


def safe_redirect_target(
    target: str | None, *, allowed_hosts: Iterable[str] = (), fallback: str = "/"
) -> str:
    """`target` (say, a `next` parameter) if it stays on this site, else `fallback`.

    Browsers ignore tabs and newlines in a URL and read `\\` as `/`, so the target is checked
    (and returned) as they would read it. On-site means a path from the root (`/account`), not
    a protocol-relative `//host` or `/\\host`; an absolute `http(s)` URL or `//host` URL is
    accepted only when its host is one of `allowed_hosts` (exact, any case). Anything else —
    `https://evil.example/`, `//evil.example/x`, `/\\evil.example`, `javascript:...`, a
    relative path — gives `fallback`: no open redirect.
    """
    if not target:
        return fallback
    text = _TAB_OR_NEWLINE.sub("", target).strip(_C0_OR_SPACE).replace("\\", "/")
    if text.startswith("/") and not text.startswith("//"):
        return text
    allowed = {host.lower() for host in allowed_hosts}
    if not allowed:
        return fallback
    try:
        parts = urlsplit(text if not text.startswith("//") else "https:" + text)
        host = parts.hostname
    except ValueError:
        return fallback
    if parts.scheme.lower() not in ("http", "https") or not host or host.lower() not in allowed:
        return fallback
    return text


def redirect_slashes(app: Application, *, status: int = 308) -> None:
    """Answer a request the router does not find with `status` (308) to the same path with the
    trailing slash added or removed, when that path has a route for the method.

    Off unless called (trailing slashes are significant): `redirect_slashes(app)` adds tuple
    middleware (inside any already added) that looks only at the router's 404 answers; the
    query string is kept, and a path that would become protocol-relative (`//host`) is never
    redirected.
    """
    if status not in (301, 302, 307, 308):
        raise ValueError(f"redirect_slashes: {status} is not 301, 302, 307 or 308")

    def bind(handler: HttpHandler) -> HttpHandler:
        async def answer(
            scope: Scope, info: Info, matches: Matches, content: Content
        ) -> HttpResponse:
            try:
                response = await handler(scope, info, matches, content)
            except HttpError as error:
                return error.as_response()
            if ROUTE_KEY in scope or _status(response) != 404:
                return response
            location = _other_slash(app, scope)
            return response if location is None else redirect(location, status)

        return answer

    app.add_middleware(bindable(bind, catches_http_error=True))


def _status(response: object) -> int | None:
    if type(response) is int:
        return response
    if type(response) is tuple and response and type(response[0]) is int:
        return response[0]
    return None


def _other_slash(app: Application, scope: Scope) -> str | None:
    """The location of the path with its trailing slash flipped, if a route takes it."""
    raw = request_path(scope)
    if raw == b"/" or not raw.startswith(b"/"):
        return None
    other = raw[:-1] if raw.endswith(b"/") else raw + b"/"
    if other.startswith((b"//", b"/\\")):
        return None
    try:
        found = app.http_router.lookup(scope["method"], other)
    except InvalidPath:
        return None
    if found is None or found[2] is not None:
        return None
    root: str = scope.get("root_path") or ""
    location = quote(root, safe="/") + quote_from_bytes(other, safe=_PATH_SAFE)
    query: bytes = scope.get("query_string") or b""
    if query:
        location += "?" + quote_from_bytes(query, safe=_PATH_SAFE + b"?")
    return location


__all__ = [
    "REDIRECT_STATUSES",
    "encode_location",
    "redirect",
    "redirect_slashes",
    "safe_redirect_target",
]
