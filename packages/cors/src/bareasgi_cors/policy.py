"""The CORS policy: tuple middleware answering preflights, and a WebSocket Origin guard.

Everything that can be is computed once, when the policy is built: the allowed sets, and for
each exact origin the very header tuples its answers carry. Per request the middleware reads the
request headers once, looks the origin up, and copies the response's header list with the
precomputed headers added; nothing it keeps is written after construction, so no request can
see another's origin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, cast, final

from bareasgi import BindableMiddleware, HttpError, WebSocket, bindable
from bareasgi.headers import LOWER_TOKEN_PATTERN, is_token, list_members
from bareasgi.types import (
    ASGIApp,
    Content,
    Header,
    Headers,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    Receive,
    Scope,
    Send,
)

from .options import (
    NORMALISED_METHODS,
    ORIGIN_SYNTAX,
    SAFELISTED_HEADERS,
    SAFELISTED_METHODS,
    CorsOptions,
    normalise_method,
    normalise_origin,
)

ORIGIN: Final = b"origin"
VARY: Final = b"vary"
ALLOW_ORIGIN: Final = b"access-control-allow-origin"
ALLOW_CREDENTIALS: Final = b"access-control-allow-credentials"
EXPOSE_HEADERS: Final = b"access-control-expose-headers"
ALLOW_METHODS: Final = b"access-control-allow-methods"
ALLOW_HEADERS: Final = b"access-control-allow-headers"
MAX_AGE: Final = b"access-control-max-age"
ALLOW_PRIVATE_NETWORK: Final = b"access-control-allow-private-network"
REQUEST_METHOD: Final = b"access-control-request-method"
REQUEST_HEADERS: Final = b"access-control-request-headers"
REQUEST_PRIVATE_NETWORK: Final = b"access-control-request-private-network"
_AnswerKey = tuple[bytes, bytes, bytes | None]
"""A preflight as the fast path keys it: (origin, method, requested headers or None)."""

_OWS: Final = b" \t"
_VALID_ORIGIN: Final = ORIGIN_SYNTAX.fullmatch
_NORMALISED: Final = frozenset(method.encode() for method in NORMALISED_METHODS)
_VARY_ORIGIN: Final = ((VARY, b"origin"),)
_PREFLIGHT_VARY: Final = b"access-control-request-method, access-control-request-headers"
_DEFAULT_PORT_SUFFIX: Final = {b"http": b":80", b"https": b":443"}
_REFUSED_NAMED: Final = 10
"""A refusal names at most this many headers (the request may list hundreds)."""
_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
_CONFLICTS: Final = frozenset({VARY, ALLOW_ORIGIN, ALLOW_CREDENTIALS, EXPOSE_HEADERS})
"""Response headers the middleware adds: a response that has one already is merged."""
_BROWSER_METHODS: Final = frozenset(
    {b"DELETE", b"GET", b"HEAD", b"OPTIONS", b"PATCH", b"POST", b"PUT"}
)
"""With allow_methods=['*'], these are echoed on the fast path (any other token, the slow way)."""
_LOWER_TOKEN: Final = LOWER_TOKEN_PATTERN.encode()
"""Core's RFC 9110 token pattern without upper case: a name the general way would not change."""
_BROWSER_HEADER_LIST: Final = re.compile(_LOWER_TOKEN + rb"(?:," + _LOWER_TOKEN + rb")*").fullmatch
"""Access-Control-Request-Headers as browsers send it: lower-case names joined by commas."""
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")


class CorsConfigError(ValueError):
    """CORS options that cannot work; `problems` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid CORS options:\n  " + "\n  ".join(problems))
        self.problems = problems


def _join(values: Iterable[str]) -> bytes:
    return ", ".join(values).encode("ascii")


@final
class CorsPolicy:
    """A compiled CORS policy.

    Args:
        options: What to allow; every problem with them raises one `CorsConfigError`.

    Attributes:
        options: The options it was built from.
        middleware: The tuple middleware: answers preflights, decorates actual responses.
    """

    __slots__ = (
        "_actual",
        "_actual_any",
        "_allowed_headers",
        "_allowed_methods",
        "_any_header",
        "_any_method",
        "_any_origin",
        "_common",
        "_no_origin",
        "_preflight",
        "_preflight_any",
        "_preflight_common",
        "_refused_preflight",
        "_regex",
        "middleware",
        "options",
    )

    def __init__(self, options: CorsOptions) -> None:
        problems = options.problems()
        if problems:
            raise CorsConfigError(problems)
        self.options = options
        self._any_origin = options.allow_origins == ("*",)
        self._regex = (
            re.compile(options.allow_origin_regex).fullmatch
            if options.allow_origin_regex is not None and not self._any_origin
            else None
        )
        self._any_method = options.allow_methods == ("*",)
        methods = [
            m for m in dict.fromkeys(map(normalise_method, options.allow_methods)) if m != "*"
        ]
        self._allowed_methods = frozenset(m.encode() for m in (*methods, *SAFELISTED_METHODS))
        self._any_header = options.allow_headers == ("*",)
        headers = [h.lower() for h in options.allow_headers if h != "*"]
        allow_headers = list(dict.fromkeys((*headers, *SAFELISTED_HEADERS)))
        self._allowed_headers = frozenset(h.encode() for h in allow_headers)

        # Headers of an actual response, after the allow-origin header.
        common: list[Header] = []
        if options.allow_credentials:
            common.append((ALLOW_CREDENTIALS, b"true"))
        if options.expose_headers:
            exposed = dict.fromkeys(h.lower() for h in options.expose_headers)
            common.append((EXPOSE_HEADERS, _join(exposed)))
        self._common: tuple[Header, ...] = tuple(common)

        # Headers of a preflight's answer, after the allow-origin header.
        preflight: list[Header] = []
        if options.allow_credentials:
            preflight.append((ALLOW_CREDENTIALS, b"true"))
        if not self._any_method and methods:
            preflight.append((ALLOW_METHODS, _join(methods)))
        if not self._any_header:
            preflight.append((ALLOW_HEADERS, _join(allow_headers)))
        if options.max_age is not None:
            preflight.append((MAX_AGE, str(options.max_age).encode()))
        vary = _PREFLIGHT_VARY if self._any_origin else b"origin, " + _PREFLIGHT_VARY
        preflight.append((VARY, vary))
        self._preflight_common: tuple[Header, ...] = tuple(preflight)
        self._refused_preflight: tuple[Header, ...] = (_TEXT, _NOSNIFF, (VARY, vary))

        exact = [] if self._any_origin else [normalise_origin(o)[0] for o in options.allow_origins]
        # Lists, because `headers + extra` is the cheapest copy; they are never written to.
        self._actual: dict[bytes, Headers] = {}
        self._preflight: dict[bytes, tuple[Header, ...]] = {}
        for text in exact:
            origin = text.encode("ascii")
            self._actual[origin] = [(ALLOW_ORIGIN, origin), *self._common, *_VARY_ORIGIN]
            self._preflight[origin] = ((ALLOW_ORIGIN, origin), *self._preflight_common)
        self._actual_any: Headers = [(ALLOW_ORIGIN, b"*"), *self._common]
        self._preflight_any: tuple[Header, ...] = ((ALLOW_ORIGIN, b"*"), *self._preflight_common)
        # Unless every origin gets the same answer, a cache must key on Origin — even the
        # answer to a request without one (the Fetch standard's advice on Vary).
        self._no_origin: Headers = self._actual_any if self._any_origin else list(_VARY_ORIGIN)
        self.middleware: BindableMiddleware = self._build_middleware()

    def __repr__(self) -> str:
        return f"CorsPolicy({self.options!r})"

    # ---- origins ----------------------------------------------------------------------------

    def allows_origin(self, origin: str | bytes) -> bool:
        """Whether requests from `origin` (as a browser sends it) are allowed."""
        raw = origin.encode("latin-1") if isinstance(origin, str) else bytes(origin)
        return raw in self._actual or self._allowed_elsewhere(raw)

    def _allowed_elsewhere(self, origin: bytes) -> bool:
        """Allowed by `*` or the regular expression (exact origins are looked up first)."""
        if self._any_origin:
            return origin == b"null" or _VALID_ORIGIN(origin) is not None
        regex = self._regex
        return (
            regex is not None
            and _VALID_ORIGIN(origin) is not None
            and regex(origin.decode("ascii")) is not None
        )

    def _actual_headers(self, origin: bytes) -> Headers:
        """What an actual response from a non-exact `origin` gets (exact ones are precomputed)."""
        if not self._allowed_elsewhere(origin):
            return [] if self._any_origin else [*_VARY_ORIGIN]
        if self._any_origin:
            return self._actual_any
        return [(ALLOW_ORIGIN, origin), *self._common, *_VARY_ORIGIN]

    def _preflight_headers(self, origin: bytes) -> tuple[Header, ...] | None:
        head = self._preflight.get(origin)
        if head is not None:
            return head
        if not self._allowed_elsewhere(origin):
            return None
        if self._any_origin:
            return self._preflight_any
        return ((ALLOW_ORIGIN, origin), *self._preflight_common)

    # ---- HTTP -------------------------------------------------------------------------------

    def _build_middleware(self) -> BindableMiddleware:
        # Locals, bound once: the hot path does no attribute look-ups.
        actual = self._actual.get
        actual_elsewhere = self._actual_headers
        no_origin = self._no_origin
        names, answered, answer_anew = self._build_preflight()
        general = self._preflight_answer
        conflicts = _CONFLICTS
        vary_origin = list(_VARY_ORIGIN)
        # The headers of the last answer found without a name of ours (compared pair for pair,
        # usually by identity: handlers return the same constant pairs).
        last_clear: list[list[Any]] = [[]]

        def bind_handler(handler: HttpHandler) -> HttpHandler:
            """CORS around `handler`: core composes through this, a call less per request."""

            async def cors(
                scope: Scope, info: Info, matches: Matches, content: Content
            ) -> HttpResponse:
                response: Any
                if scope["method"] == "OPTIONS":
                    # A preflight? Its fast path is here, not in a function: a call less. It
                    # takes an exact origin, one Access-Control-Request-Method, at most one
                    # Access-Control-Request-Headers, no private-network request, and gives
                    # the answer the general way (`_preflight_answer`) would.
                    origin: bytes | None = None
                    method: bytes | None = None
                    requested: bytes | None = None
                    repeated = False
                    for name, value in scope["headers"]:
                        if name in names:
                            if name == b"origin":  # constants: cheaper than globals here
                                repeated = repeated or origin is not None
                                origin = value
                            elif name == b"access-control-request-method":
                                repeated = repeated or method is not None
                                method = value
                            elif name == b"access-control-request-headers":
                                repeated = repeated or requested is not None
                                requested = value
                            else:
                                repeated = True  # a private-network request: the general way
                    if method is not None and origin is not None:
                        if not repeated:
                            response = answered((origin, method, requested))
                            if response is not None:
                                return 204, [*response]
                            response = answer_anew((origin, method, requested))
                            if response is not None:
                                return 204, response
                        response = general(scope)
                        if response is not None:
                            return cast(HttpResponse, response)
                    # Without both, an OPTIONS request for the application.
                origin = None
                repeated = False
                for name, value in scope["headers"]:
                    if name == b"origin":  # a constant: cheaper than a global in this loop
                        repeated = origin is not None
                        origin = value
                if origin is None:
                    extra = no_origin
                else:
                    # Two origins: neither can be trusted to be the one the browser meant.
                    extra = vary_origin if repeated else actual(origin) or actual_elsewhere(origin)
                try:
                    response = await handler(scope, info, matches, content)
                except HttpError as error:  # see `catches_http_error` below
                    response = error.as_response()
                if not extra:
                    return cast(HttpResponse, response)
                # The usual shape, (status, headers, body), without a header of ours: a copy
                # of the headers with ours appended. Anything else takes the general way.
                if type(response) is tuple:
                    try:
                        status, headers, body = response
                        if type(headers) is list:
                            if headers == last_clear[0]:
                                # The same pairs as an answer found without a name of ours.
                                return status, headers + extra, body
                            for header in headers:
                                if header[0] in conflicts:
                                    break
                            else:
                                last_clear[0] = [*headers]
                                return status, headers + extra, body
                    except (TypeError, ValueError, IndexError, KeyError):
                        pass  # another length, or ill-formed headers: the general way
                return cast(HttpResponse, with_headers(response, extra))

            return cors

        # Error answers carry CORS headers too (a browser must be able to read them); the
        # middleware turns HttpError into a response itself, so when it is innermost core
        # binds it to the route's handler without a wrapper doing that.
        return bindable(bind_handler, catches_http_error=True)

    def _build_preflight(
        self,
    ) -> tuple[
        frozenset[bytes],
        Callable[[_AnswerKey], tuple[Header, ...] | None],
        Callable[[_AnswerKey], Headers | None],
    ]:
        """The preflight fast path's parts: the names it looks for, the answers already given
        by (origin, method, requested headers), and what answers a key not seen before.

        Browsers send the same few preflights again and again; answers are kept, bounded, and
        only allowed ones. A key the fast path cannot answer gets None: the general way decides.
        """
        heads = self._preflight.get
        methods = self._allowed_methods if not self._any_method else _BROWSER_METHODS
        any_method = self._any_method
        header_names = None if self._any_header else self._allowed_headers
        names = frozenset({ORIGIN, REQUEST_METHOD, REQUEST_HEADERS, REQUEST_PRIVATE_NETWORK})
        answers: dict[_AnswerKey, tuple[Header, ...]] = {}

        def answer_anew(key: _AnswerKey) -> Headers | None:
            origin, method, requested = key
            head = heads(origin)
            if head is None or method not in methods:
                return None
            extra: Headers = [(ALLOW_METHODS, method)] if any_method else []
            if requested is not None:
                if header_names is not None:
                    for part in requested.split(b","):
                        if part not in header_names:
                            return None
                elif _BROWSER_HEADER_LIST(requested):
                    extra.append((ALLOW_HEADERS, requested))
                else:
                    return None
            headers = [*head, *extra]
            if len(answers) < _ANSWERS_MAX:
                answers[key] = tuple(headers)
            return headers

        return names, answers.get, answer_anew

    def _preflight_answer(self, scope: Scope) -> HttpResponse | None:
        """The answer to a preflight, the general way; None when the OPTIONS request is not one."""
        origin: bytes | None = None
        repeated = False
        method: bytes | None = None
        method_count = 0
        requested: list[bytes] = []
        private_network = False
        for name, value in scope["headers"]:
            if name == ORIGIN:
                repeated = origin is not None
                origin = value
            elif name == REQUEST_METHOD:
                method = value
                method_count += 1
            elif name == REQUEST_HEADERS:
                requested.append(value)
            elif name == REQUEST_PRIVATE_NETWORK:
                private_network = value.strip(_OWS).lower() == b"true"
        if method is None or origin is None:
            return None

        refused: list[str] = []
        head = None if repeated else self._preflight_headers(origin)
        if repeated:
            refused.append("repeated Origin header")
        elif head is None:
            refused.append("origin not allowed")

        method = method.strip(_OWS)
        if method_count > 1:
            refused.append("repeated Access-Control-Request-Method header")
        elif not is_token(method):
            refused.append("Access-Control-Request-Method is not a method")
        else:
            upper = method.upper()
            if upper in _NORMALISED:
                method = upper
            if not self._any_method and method not in self._allowed_methods:
                refused.append(f"method {method.decode('ascii')} not allowed")

        names: list[bytes] = []
        for value in requested:
            for part in value.split(b","):
                part = part.strip(_OWS)
                if part:
                    names.append(part.lower())
        if names:
            if not all(is_token(name) for name in names):
                refused.append("Access-Control-Request-Headers holds a value that is not a name")
            elif not self._any_header:
                allowed = self._allowed_headers
                denied = [name for name in dict.fromkeys(names) if name not in allowed]
                if denied:
                    refused.append(_denied_headers(denied))

        if private_network and not self.options.allow_private_network:
            refused.append("private network access not allowed")

        if refused:
            body = ("CORS preflight refused: " + "; ".join(refused)).encode("ascii")
            return 400, list(self._refused_preflight), body

        assert head is not None
        headers = list(head)
        if self._any_method:
            headers.append((ALLOW_METHODS, method))
        if self._any_header and names:
            headers.append((ALLOW_HEADERS, b",".join(names)))
        if private_network:
            headers.append((ALLOW_PRIVATE_NETWORK, b"true"))
        return 204, headers

    # ---- WebSockets -------------------------------------------------------------------------

    def websocket_allows(self, scope: Scope) -> bool:
        """Whether a WebSocket handshake may go on: no Origin (not a browser), the request's
        own origin (its Host), or an allowed origin; never two Origin headers."""
        origin: bytes | None = None
        host: bytes | None = None
        repeated = False
        for name, value in scope["headers"]:
            if name == ORIGIN:
                repeated = origin is not None
                origin = value
            elif name == b"host":
                host = value
        if origin is None:
            return True
        if repeated:
            return False
        if origin in self._actual or self._allowed_elsewhere(origin):
            return True
        if host is None or _VALID_ORIGIN(origin) is None:
            return False
        scheme, _, authority = origin.partition(b"://")
        host = host.lower()
        suffix = _DEFAULT_PORT_SUFFIX.get(scheme)
        if suffix is not None and host.endswith(suffix):
            host = host[: -len(suffix)]
        return authority == host

    def websocket_guard(self, app: ASGIApp) -> ASGIApp:
        """An ASGI wrapper refusing WebSocket handshakes from origins not allowed (403)."""
        allows = self.websocket_allows

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "websocket" and not allows(scope):
                message = await receive()
                if message["type"] == "websocket.connect":
                    socket = WebSocket(scope, receive, send)
                    await socket.reject(403, [_TEXT, _NOSNIFF], b"WebSocket origin not allowed")
                return
            await app(scope, receive, send)

        return guarded


_ANSWERS_MAX = 256


def _denied_headers(denied: list[bytes]) -> str:
    shown = b", ".join(denied[:_REFUSED_NAMED]).decode("ascii")
    more = len(denied) - _REFUSED_NAMED
    return f"headers not allowed: {shown}" + (f" and {more} more" if more > 0 else "")


def with_headers(response: Any, extra: Sequence[Header]) -> Any:
    """The response with `extra` added to a copy of its headers (a vary merged, ours winning).

    A response that is not one is returned as it is, for core to refuse.
    """
    if type(response) is not tuple:
        return response, list(extra)  # a bare status (anything else is core's to refuse)
    size = len(response)
    if size < 2:
        return (response[0], list(extra)) if size else response
    headers = response[1]
    try:
        if not headers:
            new = list(extra)
        elif any(header[0] in _CONFLICTS for header in headers):
            new = merge_headers(headers, extra)
        else:
            new = [*headers, *extra]
    except (TypeError, IndexError, KeyError, ValueError):
        return response
    return (response[0], new, *response[2:])


def merge_headers(headers: Iterable[Any], extra: Sequence[Header]) -> Headers:
    """`headers` plus `extra`: a header of the same name in `extra` replaces the response's,
    except vary, whose values are merged into the response's first vary."""
    ours = {name for name, _ in extra if name != VARY}
    wanted = [token for name, value in extra if name == VARY for token in list_members(value)]
    merged: list[Any] = []
    vary_at = -1
    present: set[bytes] = set()
    for header in headers:
        name = header[0]
        if name in ours:
            continue
        if name == VARY:
            if vary_at < 0:
                vary_at = len(merged)
            present.update(list_members(header[1]))
        merged.append(header)
    missing = [] if b"*" in present else [token for token in wanted if token not in present]
    if missing:
        addition = b", ".join(missing)
        if vary_at < 0:
            merged.append((VARY, addition))
        else:
            value = bytes(merged[vary_at][1]).strip(_OWS)
            merged[vary_at] = (VARY, value + b", " + addition if value else addition)
    merged.extend(header for header in extra if header[0] != VARY)
    return merged


__all__ = ["CorsConfigError", "CorsPolicy", "merge_headers", "with_headers"]
