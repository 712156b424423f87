"""The query string: its parameters, one typed value, and paths with a query built by name.

`scope['query_string']` is decoded as `application/x-www-form-urlencoded` (WHATWG URL,
section 5): `+` is a space, a `%` not followed by two hex digits is kept as it is, names and
values are UTF-8 (U+FFFD for invalid bytes), repeated names keep every value in order. The
parameters are parsed once per request and kept in the scope under `QUERY_KEY`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, overload
from urllib.parse import quote_plus

from ._request import add_pairs, count_fields, too_many_fields
from .errors import HttpError
from .plugins import APP_KEY
from .types import Scope

QUERY_KEY: Final = "bareasgi.query"
"""Scope key holding the parsed query: `(query_string, parameters)`, made when first asked."""
DEFAULT_MAX_FIELDS: Final = 1000
"""More parameters than this answer 400, unless a call says otherwise."""

_INT: Final = re.compile(r"[+-]?[0-9]{1,4300}").fullmatch
_FLOAT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final[Any] = _Required()
"""The default of `query_value`'s `default`: a missing parameter answers 400."""


def query_params(scope: Scope, *, max_fields: int = DEFAULT_MAX_FIELDS) -> dict[str, list[str]]:
    """Every query parameter: name → values, in the order given.

    Raises:
        HttpError: 400 when there are more than `max_fields` parameters.
    """
    query_string: bytes = scope.get("query_string") or b""
    cached = scope.get(QUERY_KEY)
    if cached is not None and cached[0] is query_string:
        params: dict[str, list[str]] = cached[1]
        if cached[2] > max_fields:
            raise too_many_fields("query string", max_fields)
        return params
    pieces = query_string.split(b"&")
    count = count_fields(pieces)
    if count > max_fields:
        raise too_many_fields("query string", max_fields)
    params = {}
    add_pairs(pieces, params)
    scope[QUERY_KEY] = (query_string, params, count)
    return params


@overload
def query_value(scope: Scope, name: str, *, max_fields: int = ...) -> str: ...
@overload
def query_value[D](scope: Scope, name: str, *, default: D, max_fields: int = ...) -> str | D: ...
@overload
def query_value[T: (str, int, float, bool)](
    scope: Scope, name: str, kind: type[T], *, max_fields: int = ...
) -> T: ...
@overload
def query_value[T: (str, int, float, bool), D](
    scope: Scope, name: str, kind: type[T], *, default: D, max_fields: int = ...
) -> T | D: ...
def query_value(
    scope: Scope,
    name: str,
    kind: type[Any] = str,
    *,
    default: Any = REQUIRED,
    max_fields: int = DEFAULT_MAX_FIELDS,
) -> Any:
    """One query parameter as `str`, `int`, `float` or `bool` (its first value if repeated).

    `bool` takes `true/false`, `1/0`, `yes/no`, `on/off` (any case); `int` and `float` take
    ASCII decimal numbers (no `nan` or `inf`).

    Raises:
        HttpError: 400 naming the parameter when it is missing (and no `default` is given)
            or does not convert; 400 when there are more than `max_fields` parameters.
    """
    values = query_params(scope, max_fields=max_fields).get(name)
    if not values:
        if default is REQUIRED:
            raise HttpError(400, f"Missing query parameter '{name}'")
        return default
    return convert(name, values[0], kind)


@overload
def query_values(scope: Scope, name: str, *, max_fields: int = ...) -> list[str]: ...
@overload
def query_values[T: (str, int, float, bool)](
    scope: Scope, name: str, kind: type[T], *, max_fields: int = ...
) -> list[T]: ...
def query_values(
    scope: Scope, name: str, kind: type[Any] = str, *, max_fields: int = DEFAULT_MAX_FIELDS
) -> list[Any]:
    """Every value of a repeated query parameter, converted as `query_value` does (may be [])."""
    return [
        convert(name, value, kind)
        for value in query_params(scope, max_fields=max_fields).get(name, ())
    ]


def convert[T: (str, int, float, bool)](name: str, value: str, kind: type[T]) -> T:
    """`value` of parameter `name` as `kind`; HttpError(400) naming the parameter if it fails."""
    if kind is str:
        return value
    if kind is bool:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise HttpError(400, f"Query parameter '{name}' must be true or false")
    if kind is int:
        if _INT(value) is None:
            raise HttpError(400, f"Query parameter '{name}' must be an integer")
        return int(value)
    if kind is float:
        if _FLOAT(value) is None or not math.isfinite(number := float(value)):
            raise HttpError(400, f"Query parameter '{name}' must be a number")
        return number
    raise TypeError(f"query parameters convert to str, int, float or bool, not {kind!r}")


QueryValue = str | int | float | bool | None
Query = Mapping[str, QueryValue | Iterable[QueryValue]] | Iterable[tuple[str, QueryValue]]


def encode_query(query: Query) -> str:
    """An urlencoded query string (without `?`); a sequence value repeats its name, `None` is
    left out, booleans are `true`/`false`."""
    pairs = query.items() if isinstance(query, Mapping) else query
    out: list[str] = []
    for name, value in pairs:
        values = (
            value
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes))
            else (value,)
        )
        for one in values:
            if one is None:
                continue
            text = ("true" if one else "false") if isinstance(one, bool) else str(one)
            out.append(f"{quote_plus(name, safe='')}={quote_plus(text, safe='')}")
    return "&".join(out)


def url_with_query(
    target: Any, name: str, params: Mapping[str, Any] | None = None, query: Query | None = None
) -> str:
    """The path of the route named `name` (as `app.url_for(name, **params)` builds it), with
    `query` as its query string.

    `target` is the `Application` or a request's scope. The route parameters and the query
    are separate arguments, so a route parameter may be named `query`.

    Raises:
        KeyError, TypeError, ValueError: as `app.url_for`.
    """
    app = target if hasattr(target, "url_for") else target[APP_KEY]
    path: str = app.url_for(name, **(params or {}))
    if query is None:
        return path
    encoded = encode_query(query)
    return f"{path}?{encoded}" if encoded else path


__all__ = [
    "DEFAULT_MAX_FIELDS",
    "QUERY_KEY",
    "REQUIRED",
    "encode_query",
    "query_params",
    "query_value",
    "query_values",
    "url_with_query",
]
