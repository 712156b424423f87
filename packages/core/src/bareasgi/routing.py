"""URL routing: path templates, a segment trie, and the HTTP and WebSocket routers.

A template is a path whose segments are literals or parameters::

    /foo/{name}/{id:int}/{created:datetime:%Y-%m-%d}/{rest:path}

Types are ``str`` (the default; never empty), ``int``, ``float``, ``datetime`` (with an
optional :func:`~datetime.datetime.strptime` format, ISO-8601 without one) and ``path`` (the
rest of the path, possibly empty; a parameter named ``{path}`` without a type is one too).

Requests are matched segment by segment. The raw path is split on ``/`` *before*
percent-decoding, so an encoded ``%2F`` never splits or joins segments. At each segment a
literal beats ``int``, which beats ``float``, then ``datetime``, ``str`` and ``path``; when a
branch fails further down the next candidate is tried. Lookup walks a trie of segments, so its
cost grows with the depth of the path, never with the number of routes.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Awaitable, Callable, Iterator
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any, Final, final
from urllib.parse import quote, unquote_to_bytes

from .errors import InvalidPath
from .types import HttpHandler

__all__ = [
    "HttpRouter",
    "Route",
    "WebSocketHandler",
    "WebSocketRouter",
    "split_path",
]

WebSocketHandler = Callable[..., Awaitable[None]]
"""``async def handler(scope, info, matches, web_socket) -> None``.

Typed loosely so that this module does not depend on :mod:`bareasgi.websockets`.
"""

_AnyHandler = Callable[..., Awaitable[Any]]
_Converter = Callable[[str], object | None]
"""Takes a decoded segment; returns its value, or None when it does not fit the type."""

_TYPES: Final = ("str", "int", "float", "datetime", "path")
# Priority among typed children of one trie node (a literal child always comes first and a
# `path` parameter always last).
_RANK: Final = {"int": 0, "float": 1, "datetime": 2, "str": 3}
# Characters a path segment may hold unencoded (RFC 3986 `pchar`, besides the unreserved ones
# `quote` always keeps). Literal segments of a template keep them in `url_for`.
_PCHAR_SAFE: Final = "!$&'()*+,;=:@"
# How a trie node matches the next segment (see _Node.update_mode).
_LITERALS: Final = 0
_SOLE: Final = 1
_BRANCH: Final = 2
_WS_KEY: Final = ""
"""WebSocket routes have no method; their trie leaves use this key."""

_bad_percent: Final = re.compile(r"%(?![0-9A-Fa-f]{2})").search
_float_syntax: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?").fullmatch


# ---- path decoding --------------------------------------------------------------------------


def split_path(raw_path: bytes) -> list[str]:
    """Split a raw request path into its percent-decoded segments.

    The path is split on ``/`` before decoding, so ``%2F`` stays inside its segment. The
    segments are those after the leading ``/``: ``b'/'`` gives ``['']`` and ``b'/a/'`` gives
    ``['a', '']``. No ``.``/``..`` normalisation is done.

    Raises:
        InvalidPath: The path does not start with ``/``, has invalid percent-encoding or is
            not UTF-8.
    """
    if raw_path[:1] != b"/":
        raise InvalidPath(f"the path {raw_path!r} does not start with '/'")
    return _segments(raw_path)[1:]


def _segments(raw_path: bytes) -> list[str]:
    """The decoded segments of a path starting with '/', after an empty first one."""
    try:
        text = raw_path.decode()
    except UnicodeDecodeError:
        raise InvalidPath(f"the path {raw_path!r} is not UTF-8") from None
    if "%" not in text:  # (`in` on the str is many times faster than on the bytes)
        return text.split("/")
    if _bad_percent(text) is not None:
        raise InvalidPath(f"the path {raw_path!r} has invalid percent-encoding")
    segments = text.split("/")
    try:
        for index, segment in enumerate(segments):
            if "%" in segment:
                segments[index] = unquote_to_bytes(segment).decode()
    except UnicodeDecodeError:
        raise InvalidPath(f"the path {raw_path!r} is not UTF-8 once decoded") from None
    return segments


# ---- converters: a value, or None when the segment does not fit -------------------------------


def _to_str(text: str) -> object | None:
    return text or None


def _to_int(text: str) -> object | None:
    # isdigit() alone would take other scripts' digits, which int() reads too.
    if (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())) and text.isascii():
        try:
            return int(text)
        except ValueError:  # more digits than int() agrees to parse
            return None
    return None


def _to_float(text: str) -> object | None:
    if _float_syntax(text) is not None:
        value = float(text)
        if math.isfinite(value):
            return value
    return None


def _datetime_converter(fmt: str | None) -> _Converter:
    if fmt is None:
        fromisoformat = datetime.fromisoformat

        def to_iso_datetime(text: str) -> object | None:
            try:
                return fromisoformat(text)
            except ValueError:
                return None

        return to_iso_datetime

    strptime = datetime.strptime

    def to_datetime(text: str) -> object | None:
        try:
            return strptime(text, fmt)
        except ValueError:
            return None

    return to_datetime


def _converter(kind: str, fmt: str | None) -> _Converter:
    if kind == "int":
        return _to_int
    if kind == "float":
        return _to_float
    if kind == "datetime":
        return _datetime_converter(fmt)
    return _to_str  # `path` values are checked by the matcher itself


# ---- templates --------------------------------------------------------------------------------


@final
class _Part:
    """One segment of a template: a literal, or a typed parameter."""

    __slots__ = ("convert", "fmt", "kind", "literal", "name", "quoted")

    def __init__(
        self,
        literal: str | None = None,
        name: str = "",
        kind: str = "",
        fmt: str | None = None,
    ) -> None:
        self.literal = literal
        self.quoted = quote(literal, safe=_PCHAR_SAFE) if literal is not None else ""
        self.name = name
        self.kind = kind
        self.fmt = fmt
        self.convert = _converter(kind, fmt) if literal is None else _to_str

    @property
    def key(self) -> tuple[str, str | None]:
        """The part's shape: what makes two routes the same route (names do not count)."""
        return (self.kind, self.fmt)


def _parse_template(template: str) -> tuple[_Part, ...]:
    if not isinstance(template, str):
        raise TypeError(f"a route template must be a str, not {type(template).__name__}")
    if not template.startswith("/"):
        raise ValueError(f"route template {template!r} must start with '/'")
    texts = template[1:].split("/")
    parts: list[_Part] = []
    seen: set[str] = set()
    for index, text in enumerate(texts):
        if "{" not in text and "}" not in text:
            parts.append(_Part(literal=text))
            continue
        if text.count("{") != 1 or text.count("}") != 1:
            problem = (
                "unbalanced braces"
                if text.count("{") != text.count("}")
                else "more than one parameter"
            )
            raise ValueError(
                f"route template {template!r}: {problem} in segment {text!r}"
                " (a parameter is a whole segment and cannot contain '/')"
            )
        if not (text.startswith("{") and text.endswith("}")):
            raise ValueError(
                f"route template {template!r}: a parameter must be a whole segment,"
                f" not part of {text!r}"
            )
        name, has_type, spec = text[1:-1].partition(":")
        kind, has_format, fmt = spec.partition(":")
        if not has_type:
            kind = "path" if name == "path" else "str"
        if not name.isidentifier():
            raise ValueError(
                f"route template {template!r}: parameter name {name!r} is not an identifier"
            )
        if name in seen:
            raise ValueError(f"route template {template!r}: parameter {name!r} appears twice")
        seen.add(name)
        if kind not in _TYPES:
            raise ValueError(
                f"route template {template!r}: parameter {name!r} has unknown type {kind!r}"
                f" (known types: {', '.join(_TYPES)})"
            )
        if has_format and kind != "datetime":
            raise ValueError(
                f"route template {template!r}: type {kind!r} of parameter {name!r} takes no format"
            )
        if has_format and not fmt:
            raise ValueError(
                f"route template {template!r}: parameter {name!r} has an empty datetime"
                " format (leave out the ':' for ISO-8601)"
            )
        if has_format and not _format_works(fmt):
            raise ValueError(
                f"route template {template!r}: parameter {name!r} has a datetime format"
                f" {fmt!r} that cannot read back what it writes"
            )
        if kind == "path" and index != len(texts) - 1:
            raise ValueError(
                f"route template {template!r}: path parameter {name!r} must be the last segment"
            )
        parts.append(_Part(name=name, kind=kind, fmt=fmt if has_format else None))
    return tuple(parts)


def _format_works(fmt: str) -> bool:
    """Whether strptime reads what strftime writes with `fmt` (no bad directives)."""
    try:
        datetime.strptime(datetime(2001, 2, 3, 4, 5, 6, 7).strftime(fmt), fmt)
    except ValueError:
        return False
    return True


def _is_async_callable(handler: object) -> bool:
    while isinstance(handler, functools.partial):
        handler = handler.func
    if inspect.iscoroutinefunction(handler):
        return True
    # Looked up on the type, as a call does: a class with an async __call__ is not async.
    call = getattr(type(handler), "__call__", None)  # noqa: B004 - the method itself, not callable()
    return inspect.iscoroutinefunction(call)


def _describe(handler: object) -> str:
    name = getattr(handler, "__qualname__", None)
    return name if isinstance(name, str) else repr(handler)


# ---- routes and the trie ----------------------------------------------------------------------


def _matches_maker(names: tuple[str, ...]) -> Callable[[list[Any]], dict[str, Any]]:
    # A display per common arity beats dict(zip(...)) by a wide margin on the hot path.
    if not names:

        def none(values: list[Any]) -> dict[str, Any]:
            return {}

        return none
    if len(names) == 1:
        (a,) = names

        def one(values: list[Any]) -> dict[str, Any]:
            return {a: values[0]}

        return one
    if len(names) == 2:
        a, b = names

        def two(values: list[Any]) -> dict[str, Any]:
            return {a: values[0], b: values[1]}

        return two
    if len(names) == 3:
        a, b, c = names

        def three(values: list[Any]) -> dict[str, Any]:
            return {a: values[0], b: values[1], c: values[2]}

        return three

    def many(values: list[Any]) -> dict[str, Any]:
        return dict(zip(names, values, strict=True))

    return many


@final
class Route:
    """A route as added to a router.

    Attributes:
        template: The path template, as given.
        name: The route's name for ``url_for``, if any.
        methods: The HTTP methods it was added with, upper-case (empty for WebSockets).
        handler: The handler, as given.
        call: What the application calls: the handler, or the router's wrapper around it.
        max_body_size: This route's request body limit in bytes (None: the application's).
        timeout: This route's request time limit in seconds (None: the application's).
        cancel_on_disconnect: Whether the handler is cancelled when its client goes away
            before it answers (None: the application's choice).
    """

    __slots__ = (
        "_matches",
        "_names",
        "_order",
        "_parts",
        "call",
        "cancel_on_disconnect",
        "handler",
        "max_body_size",
        "methods",
        "name",
        "template",
        "timeout",
    )

    def __init__(
        self,
        template: str,
        name: str | None,
        methods: frozenset[str],
        handler: _AnyHandler,
        parts: tuple[_Part, ...],
        order: int,
        max_body_size: int | None = None,
        timeout: float | None = None,
        cancel_on_disconnect: bool | None = None,
    ) -> None:
        self.template = template
        self.name = name
        self.methods = methods
        self.handler = handler
        self.call: _AnyHandler = handler
        self.max_body_size = max_body_size
        self.timeout = timeout
        self.cancel_on_disconnect = cancel_on_disconnect
        self._parts = parts
        self._names = tuple(part.name for part in parts if part.literal is None)
        self._matches = _matches_maker(self._names)
        """Makes the `matches` dict from the converted values, in template order."""
        self._order = order

    def __repr__(self) -> str:
        methods = ", ".join(sorted(self.methods))
        return f"<Route {self.template!r} [{methods}] {_describe(self.handler)}>"

    def _url(self, params: dict[str, Any]) -> str:
        names = self._names
        if len(params) != len(names) or not all(name in params for name in names):
            unexpected = sorted(name for name in params if name not in names)
            if unexpected:
                raise TypeError(
                    f"route {self.name!r} ({self.template!r}) has no parameter(s)"
                    f" {', '.join(unexpected)}"
                )
            missing = [name for name in names if name not in params]
            raise KeyError(
                f"route {self.name!r} ({self.template!r}) needs parameter(s) {', '.join(missing)}"
            )
        out: list[str] = []
        for part in self._parts:
            if part.literal is not None:
                out.append(part.quoted)
            else:
                out.append(self._format(part, params[part.name]))
        return "/" + "/".join(out)

    def _format(self, part: _Part, value: object) -> str:
        if part.kind == "datetime" and isinstance(value, datetime):
            text = value.strftime(part.fmt) if part.fmt is not None else value.isoformat()
        else:
            text = str(value)
        if part.kind == "path":
            pieces = text.split("/")
            if "\\" in text or "\x00" in text:
                raise ValueError(
                    f"route {self.name!r}: the value {value!r} of path parameter {part.name!r}"
                    " cannot contain '\\' or NUL"
                )
            return "/".join(quote(piece, safe="") for piece in pieces)
        if part.convert(text) is None:
            shown = "datetime" if part.fmt is None else f"datetime:{part.fmt}"
            kind = shown if part.kind == "datetime" else part.kind
            raise ValueError(
                f"route {self.name!r}: the value {value!r} of parameter {part.name!r}"
                f" does not fit type {kind}"
            )
        return quote(text, safe="")


@final
class _Leaf(dict[str, Route]):
    """The routes of one shape, by method."""

    __slots__ = ("hits", "implicit_head")

    def __init__(self) -> None:
        super().__init__()
        self.implicit_head = False
        """`HEAD` is here only because `GET` is."""
        self.hits: dict[str, tuple[Route, None, None]] = {}
        """`lookup`'s answer for each key, made once: a literal path's hit costs no tuple."""

    def put(self, key: str, route: Route) -> None:
        self[key] = route
        self.hits[key] = (route, None, None)

    def first(self) -> Route:
        return min(self.values(), key=lambda route: route._order)


@final
class _Node:
    """A trie node: the children for the next segment, and the routes ending here."""

    __slots__ = ("by_key", "leaf", "literals", "mode", "rest", "sole", "typed")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        # (converter, child) in priority order, for the hot path; `by_key` for building.
        self.typed: tuple[tuple[_Converter, _Node], ...] = ()
        self.by_key: dict[tuple[str, str | None], tuple[_Converter, _Node]] = {}
        self.rest: _Leaf | None = None
        """Routes whose `path` parameter starts at this node's next segment."""
        self.leaf: _Leaf | None = None
        """Routes that end at this node."""
        self.mode = _LITERALS
        self.sole: tuple[_Converter, _Node] = (_to_str, self)
        """The only child, when `mode` is `_SOLE`."""

    def update_mode(self) -> None:
        """Note how the next segment is matched here.

        A node with one way on needs no backtracking, so the matcher walks through it in a
        loop instead of recursing.
        """
        if self.rest is None and not self.typed:
            self.mode = _LITERALS
        elif self.rest is None and not self.literals and len(self.typed) == 1:
            self.mode = _SOLE
            self.sole = self.typed[0]
        else:
            self.mode = _BRANCH

    def locate(self, parts: tuple[_Part, ...]) -> _Leaf | None:
        """The leaf of this shape, if a route of it exists."""
        node = self
        for part in parts:
            if part.kind == "path":
                return node.rest
            child: _Node | None
            if part.literal is not None:
                child = node.literals.get(part.literal)
            else:
                entry = node.by_key.get(part.key)
                child = entry[1] if entry is not None else None
            if child is None:
                return None
            node = child
        return node.leaf

    def insert(self, parts: tuple[_Part, ...]) -> _Leaf:
        """The leaf of this shape, made if need be."""
        node = self
        for part in parts:
            if part.kind == "path":
                if node.rest is None:
                    node.rest = _Leaf()
                    node.update_mode()
                return node.rest
            if part.literal is not None:
                child = node.literals.get(part.literal)
                if child is None:
                    child = node.literals[part.literal] = _Node()
            else:
                entry = node.by_key.get(part.key)
                if entry is None:
                    entry = node.by_key[part.key] = (part.convert, _Node())
                    # sorted() is stable: among one rank, the first added stays first.
                    ordered = sorted(node.by_key.items(), key=lambda item: _RANK[item[0][0]])
                    node.typed = tuple(item[1] for item in ordered)
                child = entry[1]
            node.update_mode()
            node = child
        if node.leaf is None:
            node.leaf = _Leaf()
        return node.leaf


def _rest(segments: list[str], index: int) -> str | None:
    """The value of a `path` parameter from `index` on, or None if a segment cannot be in it."""
    rest = "/".join(segments[index:])
    # A decoded '/' (from %2F) shows as one '/' too many.
    if rest.count("/") != len(segments) - index - 1 or "\\" in rest or "\x00" in rest:
        return None
    return rest


def _find(
    node: _Node, segments: list[str], index: int, count: int, key: str, values: list[Any]
) -> Route | None:
    """The first route under `node` for `segments[index:]` and `key`, by priority.

    Appends the converted values to `values`; on failure it may leave some there, which the
    caller drops. Recursion happens only at branching nodes, so its depth is bounded by the
    longest template, never by the request.
    """
    while index < count:
        mode = node.mode
        if mode == 0:  # _LITERALS (a constant is cheaper than a global on this path)
            child = node.literals.get(segments[index])
            if child is None:
                return None
            node = child
        elif mode == 1:  # _SOLE
            convert, node = node.sole
            value = convert(segments[index])
            if value is None:
                return None
            values.append(value)
        else:
            return _branch(node, segments, index, count, key, values)
        index += 1
    leaf = node.leaf
    return leaf.get(key) if leaf is not None else None


def _branch(
    node: _Node, segments: list[str], index: int, count: int, key: str, values: list[Any]
) -> Route | None:
    """`_find` at a node with several ways on: try each in priority order, backtracking."""
    segment = segments[index]
    mark = len(values)
    child = node.literals.get(segment)
    if child is not None:
        route = _find(child, segments, index + 1, count, key, values)
        if route is not None:
            return route
        del values[mark:]
    for convert, child in node.typed:
        value = convert(segment)
        if value is not None:
            values.append(value)
            route = _find(child, segments, index + 1, count, key, values)
            if route is not None:
                return route
            del values[mark:]
    rest = node.rest
    if rest is not None:
        route = rest.get(key)
        if route is not None:
            value = _rest(segments, index)
            if value is not None:
                values.append(value)
                return route
    return None


def _leaves(node: _Node, segments: list[str], index: int, count: int) -> Iterator[_Leaf]:
    """Every leaf matching `segments[index:]`, in priority order (the failure path)."""
    if index == count:
        if node.leaf is not None:
            yield node.leaf
        return
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None:
        yield from _leaves(child, segments, index + 1, count)
    for convert, child in node.typed:
        if convert(segment) is not None:
            yield from _leaves(child, segments, index + 1, count)
    if node.rest is not None and _rest(segments, index) is not None:
        yield node.rest


def _check_route_options(
    path: str, max_body_size: object, timeout: object, cancel_on_disconnect: object = None
) -> None:
    if cancel_on_disconnect is not None and type(cancel_on_disconnect) is not bool:
        raise TypeError(
            f"route {path!r}: cancel_on_disconnect must be a bool, not"
            f" {type(cancel_on_disconnect).__name__}"
        )
    if max_body_size is not None:
        if type(max_body_size) is not int:
            raise TypeError(
                f"route {path!r}: max_body_size must be an int, not {type(max_body_size).__name__}"
            )
        if max_body_size < 0:
            raise ValueError(
                f"route {path!r}: max_body_size must be 0 or more, not {max_body_size}"
            )
    if timeout is not None:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TypeError(
                f"route {path!r}: timeout must be a number of seconds, not {type(timeout).__name__}"
            )
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"route {path!r}: timeout must be a positive number, not {timeout}")


# ---- routers ----------------------------------------------------------------------------------


class _Router:
    """What the HTTP and WebSocket routers share."""

    __slots__ = ("_literal_allowed", "_literals", "_named", "_root", "_routes")

    def __init__(self) -> None:
        self._root = _Node()
        self._routes: list[Route] = []
        self._named: dict[str, Route] = {}
        # Fully literal templates by their exact raw bytes: looked up before the trie.
        self._literals: dict[bytes, _Leaf] = {}
        # `allowed()` of those exact paths, made when first asked; emptied by every add.
        self._literal_allowed: dict[bytes, tuple[Route, frozenset[str]] | None] = {}

    def _add(
        self,
        template: str,
        handler: _AnyHandler,
        name: str | None,
        methods: frozenset[str],
        keys: frozenset[str],
        max_body_size: int | None = None,
        timeout: float | None = None,
        cancel_on_disconnect: bool | None = None,
    ) -> Route:
        parts = _parse_template(template)
        if not _is_async_callable(handler):
            raise TypeError(
                f"handler {_describe(handler)} for route {template!r} must be async"
                " (an 'async def' function or an object with an 'async def __call__')"
            )
        if name is not None and name in self._named:
            raise ValueError(
                f"route name {name!r} is already used by {self._named[name].template!r}"
            )
        existing = self._root.locate(parts)
        if existing is not None:
            for key in sorted(keys):
                other = existing.get(key)
                if other is not None and not (key == "HEAD" and existing.implicit_head):
                    on = f" on method {key}" if key else ""
                    raise ValueError(
                        f"route {template!r} conflicts with route {other.template!r}{on}"
                    )
        route = Route(
            template,
            name,
            methods,
            handler,
            parts,
            len(self._routes),
            max_body_size,
            timeout,
            cancel_on_disconnect,
        )
        leaf = self._root.insert(parts)
        for key in keys:
            leaf.put(key, route)
        if "HEAD" in keys:
            leaf.implicit_head = False
        elif "GET" in keys and "HEAD" not in leaf:
            leaf.put("HEAD", route)
            leaf.implicit_head = True
        if all(part.literal is not None and part.quoted == part.literal for part in parts):
            self._literals.setdefault(template.encode(), leaf)
        self._literal_allowed.clear()
        self._routes.append(route)
        if name is not None:
            self._named[name] = route
        return route

    def lookup(
        self, key: str, raw_path: bytes
    ) -> tuple[Route, dict[str, Any] | None, frozenset[str] | None] | None:
        """The one route look-up: `(route, matches, None)`, `(route, None, allowed)` or None.

        `key` is the HTTP method (`''` for WebSocket routes). On a match, `matches` is a new
        dict of the converted parameters, or None for a fully literal route (no parameters;
        its answer is made once, when the route is added). When routes match the path but
        none takes `key`,
        the first of them (for its template) and every key allowed there; None when no route
        matches the path at all. Fully literal paths are found by their raw bytes before the
        trie, and what they allow is kept once asked, so a literal path with a method it
        does not take costs no walk of the trie.

        Raises:
            InvalidPath: The path has invalid percent-encoding or is not UTF-8.
        """
        leaf = self._literals.get(raw_path)
        if leaf is not None:
            hit = leaf.hits.get(key)
            if hit is not None:
                return hit
            allowed = self._allowed_literal(raw_path)
            if allowed is not None and key not in allowed[1]:
                return allowed[0], None, allowed[1]
        if raw_path[:1] != b"/":
            return None
        segments = _segments(raw_path)
        values: list[Any] = []
        route = _find(self._root, segments, 1, len(segments), key, values)
        if route is not None:
            return route, route._matches(values), None
        allowed = self._allowed_literal(raw_path) if leaf is not None else self.allowed(raw_path)
        if allowed is None:
            return None
        return allowed[0], None, allowed[1]

    def allowed(self, raw_path: bytes) -> tuple[Route, frozenset[str]] | None:
        """The first route matching `raw_path` under any key, and all keys allowed there.

        For HTTP, ``HEAD`` is included wherever ``GET`` is. None when no route matches.

        Raises:
            InvalidPath: The path has invalid percent-encoding or is not UTF-8.
        """
        if raw_path[:1] != b"/":
            return None
        segments = _segments(raw_path)
        first: Route | None = None
        keys: set[str] = set()
        for leaf in _leaves(self._root, segments, 1, len(segments)):
            if first is None:
                first = leaf.first()
            keys.update(leaf)
        if first is None:
            return None
        return first, frozenset(keys)

    def _allowed_literal(self, raw_path: bytes) -> tuple[Route, frozenset[str]] | None:
        """`allowed(raw_path)` for the exact path of a fully literal route, kept once made."""
        try:
            return self._literal_allowed[raw_path]
        except KeyError:
            answer = self._literal_allowed[raw_path] = self.allowed(raw_path)
            return answer

    def url_for(self, name: str, /, **params: Any) -> str:
        """The path of the route named `name`, with `params` converted and percent-encoded.

        Raises:
            KeyError: No route has this name, or a parameter is missing.
            TypeError: A parameter is not one of the route's.
            ValueError: A value does not fit its parameter's type.
        """
        route = self._named.get(name)
        if route is None:
            raise KeyError(f"no route is named {name!r}")
        return route._url(params)

    def __iter__(self) -> Iterator[Route]:
        """Every route once, in the order added."""
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)


@final
class HttpRouter(_Router):
    """Routes HTTP requests by method and path to async handlers."""

    __slots__ = ("_guard", "_wrap")

    def __init__(self) -> None:
        super().__init__()
        self._wrap: Callable[[HttpHandler], HttpHandler] | None = None
        self._guard: Callable[[Route, HttpHandler], HttpHandler] | None = None

    def add(
        self,
        methods: AbstractSet[str],
        path: str,
        handler: HttpHandler,
        *,
        name: str | None = None,
        max_body_size: int | None = None,
        timeout: float | None = None,
        cancel_on_disconnect: bool | None = None,
    ) -> Route:
        """Route requests for `path` with any of `methods` to `handler`.

        A route with ``GET`` also answers ``HEAD``, unless a ``HEAD`` route of the same shape
        exists (added before or after).

        Args:
            methods: The HTTP methods, e.g. ``{'GET', 'POST'}``.
            path: The path template.
            handler: ``async def handler(scope, info, matches, content)``.
            name: The route's name, for ``url_for``.
            max_body_size: Request bodies larger than this many bytes are answered 413, in
                place of the application's limit (None: the application's).
            timeout: Seconds the request may take, in place of the application's limit
                (None: the application's): past it, a handler that has not answered is
                cancelled and 503 is sent; a response still streaming is cut off.
            cancel_on_disconnect: Cancel the handler when its client goes away before it
                answers, in place of the application's choice (None: the application's).

        Raises:
            ValueError: The template is invalid, the route conflicts with another of the same
                shape on one of its methods, the name is taken, or an option is out of range.
            TypeError: The handler is not async, `methods` is not a set of strings, or an
                option has the wrong type.
        """
        _check_route_options(path, max_body_size, timeout, cancel_on_disconnect)
        given: object = methods  # a str is iterable too: {'G', 'E', 'T'} is never meant
        if isinstance(given, (str, bytes)) or not all(isinstance(m, str) for m in methods):
            raise TypeError(f"methods must be a set of str, like {{'GET'}}, not {methods!r}")
        upper = frozenset(method.upper() for method in methods)
        if not upper:
            raise ValueError(f"route {path!r} needs at least one method")
        route = self._add(
            path, handler, name, upper, upper, max_body_size, timeout, cancel_on_disconnect
        )
        if self._wrap is not None or self._guard is not None:
            route.call = self._call_for(route)
        return route

    def resolve(self, method: str, raw_path: bytes) -> tuple[Route, dict[str, Any]] | None:
        """The route for `method` and `raw_path`, and its converted parameters (a new dict).

        Raises:
            InvalidPath: The path has invalid percent-encoding or is not UTF-8.
        """
        found = self.lookup(method, raw_path)
        if found is None or found[2] is not None:
            return None
        return found[0], found[1] if found[1] is not None else {}

    def set_wrapper(
        self,
        wrap: Callable[[HttpHandler], HttpHandler] | None,
        *,
        guard: Callable[[Route, HttpHandler], HttpHandler] | None = None,
    ) -> None:
        """Make every route's `call` `wrap(handler)`, now and for routes added later.

        None restores the handlers themselves. `guard(route, call)`, when given, goes outside
        the wrapper: the application's request time limit and cancelling on a disconnect, for
        the routes that ask (it returns `call` itself for the others).
        """
        self._wrap = wrap
        self._guard = guard
        for route in self._routes:
            route.call = self._call_for(route)

    def _call_for(self, route: Route) -> HttpHandler:
        call: HttpHandler = route.handler if self._wrap is None else self._wrap(route.handler)
        if self._guard is not None:
            call = self._guard(route, call)
        return call

    def __repr__(self) -> str:
        return f"<HttpRouter with {len(self._routes)} routes>"


@final
class WebSocketRouter(_Router):
    """Routes WebSocket connections by path to async handlers."""

    __slots__ = ()

    def add(self, path: str, handler: WebSocketHandler, *, name: str | None = None) -> Route:
        """Route WebSocket connections for `path` to `handler`.

        Raises:
            ValueError: The template is invalid, another route has the same shape, or the
                name is taken.
            TypeError: The handler is not async.
        """
        return self._add(path, handler, name, frozenset(), frozenset((_WS_KEY,)))

    def resolve(self, raw_path: bytes) -> tuple[Route, dict[str, Any]] | None:
        """The route for `raw_path` and its converted parameters (a new dict).

        Raises:
            InvalidPath: The path has invalid percent-encoding or is not UTF-8.
        """
        found = self.lookup(_WS_KEY, raw_path)
        if found is None or found[2] is not None:
            return None
        return found[0], found[1] if found[1] is not None else {}

    def __repr__(self) -> str:
        return f"<WebSocketRouter with {len(self._routes)} routes>"
