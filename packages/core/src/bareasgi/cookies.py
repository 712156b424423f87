"""Cookies in and out: the request's cookies (RFC 6265 section 5.4) and `set-cookie` headers
built with safe defaults that refuse what would inject attributes.

bareutils 5.1.1's `decode_cookies` splits on `"; "` exactly (`a=1;b=2` is one cookie); this
splits on `;` and trims spaces and tabs, as browsers and RFC 6265 do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final, Literal

from .headers import is_token
from .types import Scope

SameSite = Literal["Strict", "Lax", "None"]

_COOKIE_VALUE: Final = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*").fullmatch
"""RFC 6265 cookie-octets: no space, DQUOTE, comma, semicolon, backslash or control."""
_PATH_VALUE: Final = re.compile(r"[\x20-\x3a\x3c-\x7e]*").fullmatch
"""RFC 6265 path-value: any CHAR but controls and `;` (non-ASCII refused too)."""
_DOMAIN: Final = re.compile(
    r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
).fullmatch
_SAME_SITE: Final = {"strict": b"Strict", "lax": b"Lax", "none": b"None"}
_EPOCH: Final = datetime(1970, 1, 1)


def request_cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, name → value (the first one sent wins, as the most specific).

    Every `cookie` header counts (HTTP/2 may split them); pairs are split on `;` with spaces
    and tabs trimmed (`a=1;b=2` and `a=1; b=2` alike); a value in double quotes loses them;
    a piece without `=` or a name is skipped. Values are UTF-8 (U+FFFD for invalid bytes).
    """
    cookies: dict[str, str] = {}
    for name, header in scope["headers"]:
        if name != b"cookie":
            continue
        for piece in header.split(b";"):
            key, equals, value = piece.partition(b"=")
            if not equals:
                continue
            key = key.strip(b" \t")
            if not key:
                continue
            value = value.strip(b" \t")
            if len(value) >= 2 and value[0] == 34 and value[-1] == 34:  # b'"'
                value = value[1:-1]
            cookies.setdefault(key.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    return cookies


def set_cookie_header(
    name: str,
    value: str,
    *,
    max_age: int | timedelta | None = None,
    expires: datetime | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = True,
    http_only: bool = True,
    same_site: SameSite | None = "Lax",
    partitioned: bool = False,
) -> tuple[bytes, bytes]:
    """A `set-cookie` response header: `headers.append(set_cookie_header('session', token))`.

    Defaults are the safe ones: `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`. The value
    must be RFC 6265 cookie-octets (encode anything else yourself, e.g. base64url); a name,
    value, path or domain that would add or break attributes (`;`, CR, LF, spaces, quotes...)
    is refused, as are `SameSite=None` without `Secure` and the `__Secure-`/`__Host-` prefixes
    without what they require.

    Raises:
        ValueError: naming what is refused.
    """
    if not is_token(name):
        raise ValueError(f"set_cookie_header: the cookie name {name!r} is not a token")
    if _COOKIE_VALUE(value) is None:
        raise ValueError(
            f"set_cookie_header: the value of cookie {name!r} has characters a cookie value"
            " cannot hold (space, quote, comma, semicolon, backslash, control or non-ASCII):"
            " encode it first"
        )
    if path is not None and (not path or _PATH_VALUE(path) is None):
        raise ValueError(f"set_cookie_header: the path {path!r} of cookie {name!r} is not valid")
    if domain is not None and _DOMAIN(domain) is None:
        raise ValueError(
            f"set_cookie_header: the domain {domain!r} of cookie {name!r} is not a host name"
        )
    site: bytes | None = None
    if same_site is not None:
        site = _SAME_SITE.get(str(same_site).lower())
        if site is None:
            raise ValueError(
                f"set_cookie_header: same_site must be 'Strict', 'Lax' or 'None', not {same_site!r}"
            )
        if site == b"None" and not secure:
            raise ValueError("set_cookie_header: SameSite=None requires secure=True")
    if name.startswith("__Host-") and (not secure or path != "/" or domain is not None):
        raise ValueError(
            "set_cookie_header: a __Host- cookie needs secure=True, path='/', no domain"
        )
    if name.startswith("__Secure-") and not secure:
        raise ValueError("set_cookie_header: a __Secure- cookie needs secure=True")
    if isinstance(max_age, bool) or (
        max_age is not None and not isinstance(max_age, (int, timedelta))
    ):
        raise ValueError(
            f"set_cookie_header: max_age must be seconds or a timedelta, not {max_age!r}"
        )
    header: bytes = _encode_set_cookie()(
        name.encode("ascii"),
        value.encode("ascii"),
        expires=expires,
        max_age=max_age,
        path=path.encode("ascii") if path is not None else None,
        domain=domain.encode("ascii") if domain is not None else None,
        secure=secure,
        http_only=http_only,
        same_site=site,
    )
    if partitioned:
        header += b"; Partitioned"
    return b"set-cookie", header


@cache
def _encode_set_cookie() -> Callable[..., Any]:
    """bareutils' encoder, imported when first used (bareutils imports all of itself)."""
    from bareutils.cookies import encode_set_cookie

    return encode_set_cookie


def delete_cookie_header(
    name: str,
    *,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = True,
    http_only: bool = True,
    same_site: SameSite | None = "Lax",
) -> tuple[bytes, bytes]:
    """A `set-cookie` header that removes the cookie: empty, `Max-Age=0`, expired in 1970.

    `path` and `domain` must be those the cookie was set with.
    """
    return set_cookie_header(
        name,
        "",
        max_age=0,
        expires=_EPOCH,
        path=path,
        domain=domain,
        secure=secure,
        http_only=http_only,
        same_site=same_site,
    )


__all__ = ["delete_cookie_header", "request_cookies", "set_cookie_header"]
