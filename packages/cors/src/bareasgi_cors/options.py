"""CORS options: a frozen dataclass, and the checks its types cannot express."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from bareasgi.headers import is_token
from bareasgi.options import option

SAFELISTED_METHODS: Final = frozenset({"GET", "HEAD", "POST"})
"""CORS-safelisted methods: a browser never asks a preflight to approve them."""

NORMALISED_METHODS: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
"""The methods Fetch upper-cases (compared case-insensitively); any other is case-sensitive."""

SAFELISTED_HEADERS: Final = (
    "accept",
    "accept-language",
    "content-language",
    "content-type",
    "range",
)
"""CORS-safelisted request-header names: always allowed, whatever their value."""

DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}

ORIGIN_SYNTAX: Final = re.compile(
    rb"[a-z][a-z0-9+.-]*://"
    rb"(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])"
    rb"(?::[0-9]{1,5})?"
)
"""An origin as browsers serialise it: lower-case scheme and host, a port only when not default.

Checked before a regular expression sees an origin, so that no pattern written for hosts can be
fooled by a path, user info or a port smuggled into the header.
"""


@dataclass(frozen=True)
class CorsOptions:
    """What the CORS middleware allows. Lists are accepted where a tuple is expected."""

    allow_origins: tuple[str, ...] = option(
        "exact origins ('https://example.com'), or ['*'] for any", default=()
    )
    allow_origin_regex: str | None = option(
        "a regular expression an origin must match in full", default=None
    )
    allow_methods: tuple[str, ...] = option(
        "methods a preflight may approve, or ['*'] for any", default=("GET", "HEAD", "POST")
    )
    allow_headers: tuple[str, ...] = option(
        "request headers a preflight may approve (safelisted ones always), or ['*']", default=()
    )
    allow_credentials: bool = option(
        "allow cookies and HTTP authentication across origins", default=False
    )
    expose_headers: tuple[str, ...] = option(
        "response headers scripts may read, or ['*'] (no credentials)", default=()
    )
    max_age: int | None = option("seconds a browser may cache a preflight's answer", default=600)
    allow_private_network: bool = option("answer Private Network Access preflights", default=False)
    guard_websockets: bool = option(
        "refuse WebSocket handshakes from origins not allowed (an ASGI wrapper)", default=False
    )

    def problems(self) -> list[str]:
        """Every problem with these options, each naming the option; empty when they are fine."""
        problems: list[str] = []
        origins = self.allow_origins
        if "*" in origins:
            if len(origins) > 1:
                problems.append("option 'allow_origins': '*' must be the only entry")
            if self.allow_credentials:
                problems.append(
                    "option 'allow_origins': '*' cannot be used with allow_credentials=True "
                    "(browsers refuse credentials with a wildcard origin): list the origins, "
                    "or use allow_origin_regex"
                )
            if self.allow_origin_regex is not None:
                problems.append(
                    "option 'allow_origin_regex' has no effect with allow_origins=['*']"
                )
        else:
            for origin in origins:
                _, problem = normalise_origin(origin)
                if problem:
                    problems.append(f"option 'allow_origins': {problem}")
        if self.allow_origin_regex is not None:
            try:
                re.compile(self.allow_origin_regex)
            except re.error as error:
                problems.append(
                    f"option 'allow_origin_regex': {self.allow_origin_regex!r} "
                    f"is not a regular expression ({error})"
                )
        if not origins and self.allow_origin_regex is None and not self.guard_websockets:
            problems.append(
                "no origin is allowed: set option 'allow_origins' or 'allow_origin_regex'"
            )
        problems.extend(_token_problems("allow_methods", self.allow_methods, "method"))
        problems.extend(_token_problems("allow_headers", self.allow_headers, "header name"))
        problems.extend(_token_problems("expose_headers", self.expose_headers, "header name"))
        if self.allow_credentials and "*" in self.expose_headers:
            problems.append(
                "option 'expose_headers': '*' means no header at all with allow_credentials=True "
                "(browsers read it literally then): list the headers"
            )
        if self.max_age is not None and self.max_age < 0:
            problems.append(f"option 'max_age' must not be negative, not {self.max_age}")
        return problems


def _token_problems(option: str, values: tuple[str, ...], what: str) -> list[str]:
    problems = []
    if "*" in values and len(values) > 1:
        problems.append(f"option {option!r}: '*' must be the only entry")
    for value in values:
        if value != "*" and not is_token(value):
            problems.append(f"option {option!r}: {value!r} is not a valid {what}")
    return problems


def normalise_method(method: str) -> str:
    """Upper-case the methods Fetch normalises; keep any other exactly as given."""
    upper = method.upper()
    return upper if upper in NORMALISED_METHODS else method


def normalise_origin(origin: str) -> tuple[str, str | None]:
    """The origin as a browser serialises it, and a problem (None when it is fine).

    `HTTPS://Example.COM:443` becomes `https://example.com`; a path, query, fragment, user
    info, wildcard or non-ASCII host is a problem.
    """
    if origin == "null":
        return origin, None
    if "*" in origin:
        return origin, f"{origin!r}: wildcards are not origins (use allow_origin_regex)"
    if not origin.isascii():
        return origin, f"{origin!r}: write a non-ASCII host in its punycode (xn--) form"
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError as error:
        return origin, f"{origin!r} is not an origin ({error})"
    if not parts.scheme or not parts.netloc or parts.hostname is None:
        return origin, f"{origin!r} is not an origin: write it as scheme://host[:port]"
    if parts.path or parts.query or parts.fragment or origin.endswith(("?", "#")):
        return (
            origin,
            f"{origin!r} has a path, query or fragment: an origin is scheme://host[:port]",
        )
    if parts.username is not None or parts.password is not None:
        return origin, f"{origin!r} has user info: an origin is scheme://host[:port]"
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    text = f"{scheme}://{host}"
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        text += f":{port}"
    if not ORIGIN_SYNTAX.fullmatch(text.encode("ascii")):
        return origin, f"{origin!r} is not an origin: write it as scheme://host[:port]"
    return text, None


__all__ = [
    "NORMALISED_METHODS",
    "SAFELISTED_HEADERS",
    "SAFELISTED_METHODS",
    "CorsOptions",
    "normalise_method",
    "normalise_origin",
]
