"""The CORS middleware on its own (`add_cors_middleware`): actual requests and preflights."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from types import CodeType, FrameType, ModuleType
from typing import Any, cast

import pytest
from cors_helpers import (
    EVIL,
    GOOD,
    OTHER,
    SHARED_HEADERS,
    build_app,
    cors_headers,
    preflight,
    raw,
    vary_tokens,
)

from bareasgi import (
    Application,
    Content,
    EnabledPlugin,
    HttpError,
    HttpHandler,
    HttpMiddleware,
    HttpResponse,
    Info,
    Matches,
    PluginError,
    Scope,
    hookimpl,
)
from bareasgi.testing import TestClient
from bareasgi_cors import CorsConfigError, CorsOptions, CorsPolicy, add_cors_middleware, cors_state
from bareasgi_cors.policy import _ANSWERS_MAX as PREFLIGHT_CACHE_BOUND
from bareasgi_cors.policy import merge_headers, with_headers

# ---- actual requests --------------------------------------------------------------------------


async def test_an_allowed_origin_is_echoed_with_vary() -> None:
    app, reached = build_app(allow_origins=[GOOD, OTHER])
    async with TestClient(app) as client:
        response = await client.get("/things", headers={"origin": GOOD})
    assert response.status_code == 200
    assert response.text == "things"
    assert cors_headers(response) == {"access-control-allow-origin": GOOD}
    assert vary_tokens(response) == ["origin"]
    assert reached == ["GET /things"]


async def test_credentials_and_exposed_headers() -> None:
    app, _ = build_app(
        allow_origins=[GOOD], allow_credentials=True, expose_headers=["X-Visible", "x-request-id"]
    )
    async with TestClient(app) as client:
        response = await client.get("/things", headers={"origin": GOOD})
    assert cors_headers(response) == {
        "access-control-allow-origin": GOOD,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "x-visible, x-request-id",
    }


async def test_a_disallowed_origin_gets_the_response_without_cors_headers() -> None:
    app, reached = build_app(allow_origins=[GOOD], allow_credentials=True)
    async with TestClient(app) as client:
        response = await client.get("/things", headers={"origin": EVIL})
    assert response.status_code == 200
    assert response.text == "things"
    assert cors_headers(response) == {}
    assert vary_tokens(response) == ["origin"]  # the answer depended on the origin
    assert reached == ["GET /things"]


async def test_a_request_without_origin_is_marked_as_varying_by_origin() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await client.get("/things")
    assert cors_headers(response) == {}
    assert vary_tokens(response) == ["origin"]


async def test_any_origin_gets_a_star_and_no_vary() -> None:
    app, _ = build_app(allow_origins=["*"], expose_headers=["x-visible"])
    async with TestClient(app) as client:
        with_origin = await client.get("/things", headers={"origin": EVIL})
        without = await client.get("/things")
        null = await client.get("/things", headers={"origin": "null"})
    for response in (with_origin, without, null):
        assert cors_headers(response) == {
            "access-control-allow-origin": "*",
            "access-control-expose-headers": "x-visible",
        }
        assert vary_tokens(response) == []


async def test_a_regex_must_match_the_whole_origin() -> None:
    app, _ = build_app(allow_origin_regex=r"https://[a-z]+\.example\.com")
    async with TestClient(app) as client:
        matching = await client.get("/things", headers={"origin": GOOD})
        longer = await client.get("/things", headers={"origin": GOOD + ".evil.net"})
        shorter = await client.get("/things", headers={"origin": "https://good.example.co"})
    assert matching.headers["access-control-allow-origin"] == GOOD
    assert vary_tokens(matching) == ["origin"]
    assert "access-control-allow-origin" not in longer.headers
    assert "access-control-allow-origin" not in shorter.headers


async def test_exact_origins_and_a_regex_together() -> None:
    app, _ = build_app(allow_origins=[OTHER], allow_origin_regex=r"https://good\.example\.com")
    async with TestClient(app) as client:
        for origin in (GOOD, OTHER):
            response = await client.get("/things", headers={"origin": origin})
            assert response.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ([(b"vary", b"accept-encoding")], ["accept-encoding, origin"]),
        ([(b"vary", b"Accept-Encoding,Origin")], ["Accept-Encoding,Origin"]),
        ([(b"vary", b"*")], ["*"]),
        ([(b"vary", b"")], ["origin"]),
        ([(b"vary", b"accept"), (b"vary", b"cookie")], ["accept, origin", "cookie"]),
        ([(b"vary", b"accept"), (b"vary", b"ORIGIN")], ["accept", "ORIGIN"]),
    ],
)
async def test_vary_is_merged_into_the_existing_one(
    existing: list[tuple[bytes, bytes]], expected: list[str]
) -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [(b"content-type", b"text/plain"), *existing], b"x"

    app = Application()
    add_cors_middleware(app, allow_origins=[GOOD])
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        allowed = await client.get("/", headers={"origin": GOOD})
        refused = await client.get("/", headers={"origin": EVIL})
    for response in (allowed, refused):
        assert response.headers.get_list("vary") == expected
    assert allowed.headers["access-control-allow-origin"] == GOOD


async def test_the_handlers_own_cors_headers_are_replaced_never_doubled() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        headers = [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-credentials", b"false"),
            (b"access-control-max-age", b"5"),
        ]
        return 200, headers, b"x"

    app = Application()
    add_cors_middleware(app, allow_origins=[GOOD], allow_credentials=True)
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        response = await client.get("/", headers={"origin": GOOD})
    assert response.headers.get_list("access-control-allow-origin") == [GOOD]
    assert response.headers.get_list("access-control-allow-credentials") == ["true"]
    assert response.headers["access-control-max-age"] == "5"  # not ours: left alone


@pytest.mark.parametrize(
    "answer",
    [
        204,
        (204,),
        (204, None),
        (200, None, b"body"),
        (200, [], b"body", None),
        (200, ((b"content-type", b"text/plain"),), b"body"),
        (200, [(b"content-type", b"text/plain")], b"body", []),
    ],
    ids=["bare", "1-tuple", "none-headers", "3-tuple", "4-tuple", "tuple-headers", "pushes"],
)
async def test_every_response_shape_is_decorated(answer: Any) -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        response: HttpResponse = answer
        return response

    app = Application()
    add_cors_middleware(app, allow_origins=[GOOD])
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        response = await client.get("/", headers={"origin": GOOD})
    status = answer if isinstance(answer, int) else answer[0]
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == GOOD
    assert vary_tokens(response) == ["origin"]


async def test_an_ill_formed_response_is_left_for_core_to_refuse() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [b"not a pair"], b"x"

    app = Application()
    add_cors_middleware(app, allow_origins=[GOOD])
    app.http_router.add({"GET"}, "/", handler)
    async with TestClient(app) as client:
        response = await client.get("/", headers={"origin": GOOD})
    assert response.status_code == 500


def test_with_headers_keeps_what_it_cannot_decorate() -> None:
    extra = ((b"vary", b"origin"),)
    assert with_headers((), extra) == ()
    assert with_headers((200, [1], b""), extra) == (200, [1], b"")
    assert with_headers((200, [(b"a", b"1")], b"", None, "x"), extra) == (
        200,
        [(b"a", b"1"), (b"vary", b"origin")],
        b"",
        None,
        "x",
    )
    assert merge_headers([(b"vary", b"a"), (b"x", b"1")], extra) == [
        (b"vary", b"a, origin"),
        (b"x", b"1"),
    ]


async def test_the_handlers_header_list_is_never_written_to() -> None:
    before = list(SHARED_HEADERS)
    app, _ = build_app(allow_origins=[GOOD], allow_credentials=True, expose_headers=["x-visible"])
    async with TestClient(app) as client:
        for origin in (GOOD, EVIL, None):
            headers = {"origin": origin} if origin else {}
            response = await client.get("/shared", headers=headers)
            assert response.status_code == 200
    assert before == SHARED_HEADERS


# ---- what the policy keeps ---------------------------------------------------------------------
# Everything reachable from the policy and its middleware: attributes, slots, closure cells,
# bound methods, defaults and containers, whatever the middleware's shape (a closure with
# attributes or an object with `bind_handler`). The walk stops at what is shared with the rest
# of the process — modules and their globals, classes, code, loggers, event loops — and at the
# application and handlers a test names, so it sees only state of CORS's own.

_SHARED_TYPES = (type, ModuleType, CodeType, FrameType, logging.Logger, asyncio.AbstractEventLoop)
_CONTAINERS = (dict, list, set, frozenset, tuple, bytearray, deque)
_WALK_LIMIT = 200_000


def _cors_roots(policy: CorsPolicy, *handlers: HttpHandler) -> list[object]:
    roots: list[object] = [policy, policy.middleware]
    bind = getattr(policy.middleware, "bind_handler", None)
    if bind is not None:
        roots.extend(bind(handler) for handler in handlers)
    return roots


def _reachable(roots: Iterable[object], *stops: object) -> list[object]:
    """Every object reachable from `roots` through `gc.get_referents`, depth first, in a
    deterministic order, except shared ones (see above) and `stops`."""
    stop = {id(module.__dict__) for module in list(sys.modules.values()) if module is not None}
    stop.update(id(obj) for obj in stops)
    seen: set[int] = set()
    found: list[object] = []
    pending = list(reversed(list(roots)))
    while pending:
        obj = pending.pop()
        if id(obj) in seen or id(obj) in stop or isinstance(obj, _SHARED_TYPES):
            continue
        seen.add(id(obj))
        found.append(obj)
        assert len(found) < _WALK_LIMIT, "the walk left CORS's own objects"
        pending.extend(reversed(gc.get_referents(obj)))
    return found


def _dump(found: list[object]) -> list[tuple[str, object]]:
    """What the walk found, comparable across time: each object's type and its value when it
    is a leaf, its length when it is a container."""
    dumped: list[tuple[str, object]] = []
    for obj in found:
        if isinstance(obj, _CONTAINERS):
            dumped.append((type(obj).__name__, len(obj)))
        elif isinstance(obj, bytes | str | int | float | bool | None):
            dumped.append((type(obj).__name__, obj))
        else:
            dumped.append((type(obj).__name__, None))
    return dumped


def test_the_walk_sees_into_closures_and_slots() -> None:
    kept: dict[bytes, int] = {b"k": 1}

    def outer() -> Callable[[], int]:
        def inner() -> int:
            return kept[b"k"]

        return inner

    class Slotted:
        __slots__ = ("getter",)

        def __init__(self) -> None:
            self.getter = kept.get

    found = _reachable([outer(), Slotted()])
    assert any(obj is kept for obj in found)
    assert b"k" in found
    assert not any(isinstance(obj, ModuleType) for obj in found)


class _MiddlewarePlugin:
    """A local plugin contributing one middleware, to place it among plugins' middleware."""

    def __init__(self, name: str, middleware: HttpMiddleware) -> None:
        self.name = name
        self.middleware = middleware

    @hookimpl
    def bareasgi_middleware(self, plugin: EnabledPlugin) -> HttpMiddleware:
        return self.middleware


@pytest.mark.parametrize("origins", [[GOOD], ["*"]])
async def test_what_the_policy_keeps_is_never_written_to(origins: list[str]) -> None:
    async def stamp(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        # Outermost, a middleware that writes into the header list it is given.
        response: Any = await handler(scope, info, matches, content)
        response[1].append((b"x-stamp", b"1"))
        return cast(HttpResponse, response)

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [], b"hello"

    app = Application()
    app.plugins.enable(_MiddlewarePlugin("stamp", stamp))  # a plugin before CORS: outside it
    policy = add_cors_middleware(app, allow_origins=origins, expose_headers=["x-a"])
    app.http_router.add({"GET"}, "/", hello)

    async def one_round(client: TestClient) -> None:
        for headers in ({"origin": GOOD}, {"origin": EVIL}, {}):
            for path in ("/", "/missing"):
                response = await client.get(path, headers=headers)
                assert response.headers.get_list("x-stamp") == ["1"]
            answer = await preflight(client, "/", origin=headers.get("origin", GOOD))
            assert answer.headers.get_list("x-stamp") == ["1"]

    async with TestClient(app) as client:
        await one_round(client)  # caches filled for these requests
        kept = _dump(_reachable(_cors_roots(policy, hello), app, hello, stamp))
        for _ in range(3):
            await one_round(client)
        again = _dump(_reachable(_cors_roots(policy, hello), app, hello, stamp))
    assert again == kept


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def _no_body() -> AsyncIterator[bytes]:
    yield b""


async def _varied(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    """A different answer for each path: the shapes CORS decorates each way it can."""
    number = int(scope["path"].rsplit("/", 1)[1])
    mine = (b"x-n", str(number).encode())
    match number % 5:
        case 0:
            return 200, [(b"content-type", b"text/plain"), mine], b"ok"
        case 1:
            return 200, [(b"vary", b"accept-encoding"), mine], b"ok"
        case 2:
            raise HttpError(418, b"teapot", [mine])
        case 3:
            return 204
        case _:
            return 200, [mine], b"ok", None


async def _requests(policy: CorsPolicy, bound: HttpHandler | None, numbers: range) -> None:
    """Distinct origins, paths and requested headers for every number: actual requests and
    preflights, allowed and refused, through the middleware and what it binds."""
    info: Info = {}
    for number in numbers:
        path = f"/p/{number}"
        allowed = f"https://n{number}.example.org".encode()
        evil = f"https://e{number}.evil.net".encode()
        method = b"PUT" if number % 2 else b"DELETE"
        asked = f"content-type,x-h{number}".encode()  # as browsers send it
        good = GOOD.encode()
        requests = [
            ("GET", [(b"origin", allowed)]),
            ("GET", [(b"origin", evil), (b"x-n", asked)]),
            ("GET", [(b"origin", good)]),
            ("GET", []),
            ("GET", [(b"origin", good), (b"origin", allowed)]),
            (
                "OPTIONS",
                [
                    (b"origin", good),
                    (b"access-control-request-method", method),
                    (b"access-control-request-headers", asked),
                ],
            ),
            ("OPTIONS", [(b"origin", allowed), (b"access-control-request-method", method)]),
            ("OPTIONS", [(b"origin", evil), (b"access-control-request-method", method)]),
            ("OPTIONS", [(b"origin", good)]),
        ]
        for turn, (verb, headers) in enumerate(requests):
            scope = _scope(verb, path, headers)
            if bound is not None and (number + turn) % 2:
                response = await bound(scope, info, {}, _no_body())
            else:
                response = await policy.middleware(scope, info, {}, _no_body(), _varied)
            assert response is not None


@pytest.mark.parametrize(
    "options",
    [
        {
            "allow_origins": (GOOD, OTHER),
            "allow_origin_regex": r"https://n[0-9]+\.example\.org",
            "allow_methods": ("GET", "PUT", "DELETE"),
            "allow_headers": ("*",),
            "allow_credentials": True,
            "expose_headers": ("x-n",),
        },
        {"allow_origins": ("*",), "allow_methods": ("*",), "allow_headers": ("*",)},
    ],
    ids=["exact-and-regex", "any-origin"],
)
async def test_no_state_grows_past_its_bound_however_many_requests(
    options: dict[str, Any],
) -> None:
    # Each round asks with origins, paths and requested headers never seen before, more of
    # them than the preflight cache may keep (PREFLIGHT_CACHE_BOUND, policy.py's bound on
    # answers kept). Once that cache is full, nothing reachable from the policy may grow.
    policy = CorsPolicy(CorsOptions(**options))
    bind = getattr(policy.middleware, "bind_handler", None)
    bound: HttpHandler | None = bind(_varied) if bind is not None else None
    roots = [policy, policy.middleware, *([bound] if bound is not None else [])]
    rounds = 2 * PREFLIGHT_CACHE_BOUND
    await _requests(policy, bound, range(rounds))
    first = _reachable(roots, _varied)
    first_sizes = [len(obj) for obj in first if isinstance(obj, _CONTAINERS)]
    await _requests(policy, bound, range(rounds, 3 * rounds))
    second = _reachable(roots, _varied)
    second_sizes = [len(obj) for obj in second if isinstance(obj, _CONTAINERS)]

    assert max(second_sizes) <= PREFLIGHT_CACHE_BOUND
    assert (len(second), sum(second_sizes)) == (len(first), sum(first_sizes))
    if "allow_origin_regex" in options:
        # The walk does reach the preflight cache, a closure's dict: full, not beyond.
        assert PREFLIGHT_CACHE_BOUND in first_sizes


async def test_errors_404_and_405_carry_cors_headers() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        teapot = await client.get("/teapot", headers={"origin": GOOD})
        missing = await client.get("/missing", headers={"origin": GOOD})
        not_allowed = await client.post("/shared", headers={"origin": GOOD})
        bad_path = await raw(client, "GET", [(b"origin", GOOD.encode())], b"/%ff")
    assert [teapot.status_code, missing.status_code, not_allowed.status_code] == [418, 404, 405]
    assert bad_path.status_code == 400
    for response in (teapot, missing, not_allowed, bad_path):
        assert response.headers["access-control-allow-origin"] == GOOD


async def test_an_http_error_gets_cors_headers_with_another_middleware_inside() -> None:
    # CORS innermost catches HttpError itself; with a middleware inside it, core's wrapper
    # does that, and the inner middleware sees the error as a response tuple.
    seen: list[object] = []

    async def inner(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        response = await handler(scope, info, matches, content)
        seen.append(response[0] if isinstance(response, tuple) else response)
        return response

    app, _ = build_app(allow_origins=[GOOD])
    app.add_middleware(inner)
    async with TestClient(app) as client:
        teapot = await client.get("/teapot", headers={"origin": GOOD})
    assert (teapot.status_code, teapot.text) == (418, "teapot")
    assert teapot.headers["access-control-allow-origin"] == GOOD
    assert seen == [418]


async def test_answers_alternating_between_plain_headers_and_ones_of_ours() -> None:
    # The middleware remembers the last header list it found without a name of its own; an
    # answer that differs (a vary, an allow-origin of the handler's) is merged every time.
    answers = [
        [(b"content-type", b"text/plain")],
        [(b"content-type", b"text/plain"), (b"vary", b"accept-encoding")],
        [(b"content-type", b"text/plain")],
        [(b"content-type", b"text/plain"), (b"access-control-allow-origin", b"*")],
        [],
        [(b"content-type", b"text/plain")],
    ]
    turn = iter(answers * 2)

    async def varied(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, next(turn), b"ok"

    app = Application()
    add_cors_middleware(app, allow_origins=[GOOD])
    app.http_router.add({"GET"}, "/", varied)
    async with TestClient(app) as client:
        got = [await client.get("/", headers={"origin": GOOD}) for _ in range(len(answers) * 2)]
    for response in got:
        assert response.headers.get_list("access-control-allow-origin") == [GOOD]
        assert vary_tokens(response).count("origin") == 1
    assert [vary_tokens(r) for r in got[:2]] == [["origin"], ["accept-encoding", "origin"]]
    assert [r.headers.get("content-type") for r in got[3:5]] == ["text/plain", None]


async def test_no_state_is_shared_between_concurrent_requests() -> None:
    app, _ = build_app(
        allow_origins=[GOOD, OTHER],
        allow_origin_regex=r"https://[a-z0-9]+\.example\.org",
        allow_credentials=True,
    )
    origins = [GOOD, OTHER, EVIL, None, *(f"https://n{i}.example.org" for i in range(40))] * 5
    async with TestClient(app) as client:

        async def one(origin: str | None) -> tuple[str | None, str | None]:
            headers = {"origin": origin} if origin else {}
            response = await client.get("/things", headers=headers)
            return origin, response.headers.get("access-control-allow-origin")

        answers = await asyncio.gather(*(one(origin) for origin in origins))
    for origin, allowed in answers:
        assert allowed == (None if origin in (EVIL, None) else origin)


# ---- preflights -------------------------------------------------------------------------------


async def test_an_allowed_preflight_is_answered_without_reaching_the_route() -> None:
    app, reached = build_app(
        allow_origins=[GOOD], allow_methods=["GET", "PUT"], allow_headers=["X-Custom"]
    )
    async with TestClient(app) as client:
        response = await preflight(client, method="PUT", headers="x-custom,content-type")
    assert response.status_code == 204
    assert response.content == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": GOOD,
        "access-control-allow-methods": "GET, PUT",
        "access-control-allow-headers": (
            "x-custom, accept, accept-language, content-language, content-type, range"
        ),
        "access-control-max-age": "600",
    }
    assert vary_tokens(response) == [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
    ]
    assert reached == []


@pytest.mark.parametrize("star", [False, True])
async def test_repeated_preflights_get_the_same_answer_and_never_another_origins(
    star: bool,
) -> None:
    # Answers to preflights are kept by (origin, method, requested headers): the same
    # preflight again gets an equal answer, in a list of its own, and nothing kept for one
    # origin, method or header list answers another.
    policy = CorsPolicy(
        CorsOptions(
            allow_origins=(GOOD, OTHER),
            allow_methods=("*",) if star else ("GET", "PUT"),
            allow_headers=("*",) if star else ("x-custom",),
        )
    )
    answers: list[object] = []

    async def keep(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        response = await handler(scope, info, matches, content)
        answers.append(response)
        assert isinstance(response, tuple)
        cast(tuple[Any, ...], response)[1].append((b"x-mutated", b"1"))  # this answer's only
        return response

    async def things(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [], b"things"

    app = Application(middlewares=[keep, policy.middleware])
    app.http_router.add({"GET"}, "/things", things)
    async with TestClient(app) as client:
        first = [await preflight(client, method="PUT", headers="x-custom") for _ in range(3)]
        other = await preflight(client, origin=OTHER, method="PUT", headers="x-custom")
        evil = await preflight(client, origin=EVIL, method="PUT", headers="x-custom")
        delete = await preflight(client, method="DELETE", headers="x-custom")
        unknown = await preflight(client, method="PUT", headers="x-unknown")
        # Many distinct header lists: past the bound, still answered the same way.
        many = [
            await preflight(client, method="PUT", headers=f"x-custom,x-{i}") for i in range(300)
        ]
    assert [r.status_code for r in first] == [204] * 3
    assert all(cors_headers(r) == cors_headers(first[0]) for r in first)
    # Each answer got exactly the one header the outer middleware added to it.
    assert all(r.headers.get_list("x-mutated") == ["1"] for r in first)
    assert first[0].headers["access-control-allow-origin"] == GOOD
    assert other.headers["access-control-allow-origin"] == OTHER
    assert evil.status_code == 400
    assert "access-control-allow-origin" not in evil.headers
    if star:
        assert delete.headers["access-control-allow-methods"] == "DELETE"
        assert unknown.headers["access-control-allow-headers"] == "x-unknown"
        assert {r.status_code for r in many} == {204}
        assert many[-1].headers["access-control-allow-headers"] == "x-custom,x-299"
    else:
        assert (delete.status_code, unknown.status_code) == (400, 400)
        assert {r.status_code for r in many} == {400}
    assert len({id(response) for response in answers}) == len(answers)


async def test_a_preflight_is_answered_even_where_the_app_has_options() -> None:
    app, reached = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        answered = await preflight(client, "/with-options", method="GET")
        plain = await client.options("/with-options", headers={"origin": GOOD})
    assert answered.status_code == 204
    assert plain.text == "options of the app"  # no Access-Control-Request-Method: the app's
    assert plain.headers["access-control-allow-origin"] == GOOD
    assert reached == ["OPTIONS /with-options"]


async def test_options_without_request_method_goes_to_the_app() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await client.options(
            "/things", headers={"origin": GOOD, "access-control-request-headers": "x-a"}
        )
    assert response.status_code == 405
    assert response.headers["access-control-allow-origin"] == GOOD


async def test_a_preflight_without_origin_is_not_a_preflight() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await client.options("/things", headers={"access-control-request-method": "PUT"})
    assert response.status_code == 405
    assert cors_headers(response) == {}


async def test_a_preflight_to_an_unknown_path_is_answered_too() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await preflight(client, "/nowhere", method="POST")
    assert response.status_code == 204


async def test_credentials_on_a_preflight() -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_credentials=True, max_age=None)
    async with TestClient(app) as client:
        response = await preflight(client, method="POST")
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "access-control-max-age" not in response.headers


async def test_exposed_headers_are_not_a_preflights_business() -> None:
    app, _ = build_app(allow_origins=[GOOD], expose_headers=["x-visible"])
    async with TestClient(app) as client:
        response = await preflight(client, method="GET")
    assert "access-control-expose-headers" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


async def test_max_age_zero_is_sent() -> None:
    app, _ = build_app(allow_origins=[GOOD], max_age=0)
    async with TestClient(app) as client:
        response = await preflight(client, method="GET")
    assert response.headers["access-control-max-age"] == "0"


async def test_a_method_not_allowed_is_refused_with_400_naming_it() -> None:
    app, reached = build_app(allow_origins=[GOOD], allow_methods=["GET", "PUT"])
    async with TestClient(app) as client:
        response = await preflight(client, method="DELETE")
    assert response.status_code == 400
    assert response.text == "CORS preflight refused: method DELETE not allowed"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert cors_headers(response) == {}
    assert "origin" in vary_tokens(response)
    assert reached == []


async def test_a_header_not_allowed_is_refused_naming_it() -> None:
    app, reached = build_app(allow_origins=[GOOD], allow_headers=["x-custom"])
    async with TestClient(app) as client:
        response = await preflight(client, method="GET", headers="x-custom,x-forbidden,x-other")
    assert response.status_code == 400
    assert response.text == "CORS preflight refused: headers not allowed: x-forbidden, x-other"
    assert reached == []


async def test_an_origin_not_allowed_is_refused() -> None:
    app, reached = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await preflight(client, origin=EVIL, method="GET")
    assert response.status_code == 400
    assert response.text == "CORS preflight refused: origin not allowed"
    assert "access-control-allow-origin" not in response.headers
    assert reached == []


async def test_everything_refused_is_named() -> None:
    app, _ = build_app(allow_origins=[GOOD])
    async with TestClient(app) as client:
        response = await preflight(
            client,
            origin=EVIL,
            method="DELETE",
            headers="x-a",
            access_control_request_private_network="true",
        )
    assert response.text == (
        "CORS preflight refused: origin not allowed; method DELETE not allowed; "
        "headers not allowed: x-a; private network access not allowed"
    )


async def test_safelisted_methods_and_headers_are_always_allowed() -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_methods=["PUT"])
    async with TestClient(app) as client:
        for method in ("GET", "HEAD", "POST"):
            response = await preflight(
                client,
                method=method,
                headers="accept,accept-language,content-language,content-type,range",
            )
            assert response.status_code == 204, method
        assert response.headers["access-control-allow-methods"] == "PUT"


async def test_header_names_are_compared_case_insensitively() -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_headers=["X-Custom", "x-other"])
    async with TestClient(app) as client:
        for requested in ("x-custom", "X-CUSTOM", "X-Other, x-custom", " x-custom ,\tX-Other "):
            response = await preflight(client, method="GET", headers=requested)
            assert response.status_code == 204, requested
        assert response.headers["access-control-allow-headers"].startswith("x-custom, x-other")


async def test_methods_are_case_sensitive_except_the_normalised_ones() -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_methods=["put", "PATCH", "Delete"])
    async with TestClient(app) as client:
        put = await preflight(client, method="PUT")
        lower_put = await preflight(client, method="put")
        patch = await preflight(client, method="PATCH")
        lower_patch = await preflight(client, method="patch")
        delete = await preflight(client, method="dElEtE")
    assert [put.status_code, lower_put.status_code, patch.status_code] == [204, 204, 204]
    assert delete.status_code == 204
    assert lower_patch.status_code == 400
    assert lower_patch.text == "CORS preflight refused: method patch not allowed"
    assert put.headers["access-control-allow-methods"] == "PUT, PATCH, DELETE"


async def test_any_method_and_any_header_are_echoed() -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_methods=["*"], allow_headers=["*"])
    async with TestClient(app) as client:
        fast = await preflight(client, method="PATCH", headers="authorization,x-a")
        slow = await preflight(client, method="purge", headers="X-B , Authorization")
        without = await preflight(client, method="PUT")
    assert fast.status_code == slow.status_code == without.status_code == 204
    assert fast.headers["access-control-allow-methods"] == "PATCH"
    assert fast.headers["access-control-allow-headers"] == "authorization,x-a"
    assert slow.headers["access-control-allow-methods"] == "purge"
    assert slow.headers["access-control-allow-headers"] == "x-b,authorization"
    assert without.headers["access-control-allow-methods"] == "PUT"
    assert "access-control-allow-headers" not in without.headers


async def test_a_star_origin_preflight() -> None:
    app, _ = build_app(allow_origins=["*"], allow_methods=["PUT"])
    async with TestClient(app) as client:
        response = await preflight(client, origin=EVIL, method="PUT")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "origin" not in vary_tokens(response)


async def test_a_regex_origin_preflight() -> None:
    app, _ = build_app(allow_origin_regex=r"https://.+\.example\.com", allow_credentials=True)
    async with TestClient(app) as client:
        response = await preflight(client, origin=GOOD, method="POST")
        refused = await preflight(client, origin=EVIL, method="POST")
    assert response.headers["access-control-allow-origin"] == GOOD
    assert response.headers["access-control-allow-credentials"] == "true"
    assert refused.status_code == 400


@pytest.mark.parametrize("allow", [True, False])
async def test_private_network_preflights(allow: bool) -> None:
    app, _ = build_app(allow_origins=[GOOD], allow_private_network=allow)
    async with TestClient(app) as client:
        asked = await preflight(client, method="GET", access_control_request_private_network="true")
        not_asked = await preflight(client, method="GET")
    if allow:
        assert asked.status_code == 204
        assert asked.headers["access-control-allow-private-network"] == "true"
    else:
        assert asked.status_code == 400
        assert asked.text == "CORS preflight refused: private network access not allowed"
    assert not_asked.status_code == 204
    assert "access-control-allow-private-network" not in not_asked.headers


# ---- placement and configuration ----------------------------------------------------------------


@pytest.mark.parametrize("auth_added", ["before", "after"])
async def test_add_cors_middleware_goes_outermost(auth_added: str) -> None:
    calls: list[str] = []

    async def auth(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
    ) -> HttpResponse:
        calls.append(scope["method"])
        return 401, [(b"content-type", b"text/plain")], b"who are you?"

    # Among plugins' middleware, which wraps all of the application's own, whenever added.
    app = Application(middlewares=[auth] if auth_added == "before" else [])
    policy = add_cors_middleware(app, allow_origins=[GOOD])
    if auth_added == "after":
        app.add_middleware(auth, outermost=True)
    assert app.middlewares == (auth,)
    assert [mw for _, mw in app.plugin_results("bareasgi_middleware")] == [policy.middleware]
    app.http_router.add({"GET"}, "/", auth_free_handler)
    async with TestClient(app) as client:
        answered = await preflight(client, "/", method="GET")
        refused = await client.get("/", headers={"origin": GOOD})
    assert answered.status_code == 204
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == GOOD
    assert calls == ["GET"]


async def auth_free_handler(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    return 200


async def test_it_cannot_be_added_after_start() -> None:
    app = Application()
    async with TestClient(app):
        with pytest.raises(RuntimeError, match="after the application has started"):
            add_cors_middleware(app, allow_origins=[GOOD])


def test_it_cannot_be_added_twice() -> None:
    app = Application()
    policy = add_cors_middleware(app, allow_origins=[GOOD])
    with pytest.raises(PluginError, match="enabled twice"):
        add_cors_middleware(app, allow_origins=[OTHER])
    assert cors_state(app) is policy


def test_a_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="not the string"):
        add_cors_middleware(Application(), allow_origins=GOOD)


def test_star_with_credentials_is_refused_with_the_reason() -> None:
    app = Application()
    with pytest.raises(CorsConfigError) as raised:
        add_cors_middleware(app, allow_origins=["*"], allow_credentials=True)
    assert raised.value.problems == [
        "option 'allow_origins': '*' cannot be used with allow_credentials=True (browsers "
        "refuse credentials with a wildcard origin): list the origins, or use allow_origin_regex"
    ]
    assert app.middlewares == ()


def test_every_problem_is_reported_at_once() -> None:
    options = CorsOptions(
        allow_origins=("https://good.example.com/", "*.example.com", "https://ü.example", "x"),
        allow_origin_regex="(",
        allow_methods=("GET", "BAD METHOD"),
        allow_headers=("x-ok", "bad header"),
        expose_headers=("*",),
        allow_credentials=True,
        max_age=-1,
    )
    problems = options.problems()
    assert len(problems) == 9, problems
    text = "\n".join(problems)
    for part in (
        "'https://good.example.com/' has a path",
        "'*.example.com': wildcards are not origins",
        "punycode",
        "'x' is not an origin",
        "'(' is not a regular expression",
        "'BAD METHOD' is not a valid method",
        "'bad header' is not a valid header name",
        "option 'expose_headers': '*' means no header at all",
        "option 'max_age' must not be negative",
    ):
        assert part in text
    with pytest.raises(CorsConfigError, match="invalid CORS options"):
        CorsPolicy(options)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({}, "no origin is allowed"),
        ({"allow_origins": ("*", GOOD)}, "'*' must be the only entry"),
        ({"allow_origins": ("*",), "allow_origin_regex": ".*"}, "has no effect"),
        ({"allow_origins": (GOOD,), "allow_methods": ("*", "GET")}, "'*' must be the only"),
        ({"allow_origins": ("https://u:p@good.example.com",)}, "has user info"),
        ({"allow_origins": ("https://good.example.com?q",)}, "query or fragment"),
        ({"allow_origins": ("https://good.example.com:99999",)}, "is not an origin"),
        ({"allow_origins": ("https://bad host.example.com",)}, "is not an origin"),
    ],
)
def test_single_problems(options: dict[str, Any], problem: str) -> None:
    problems = CorsOptions(**options).problems()
    assert len(problems) == 1
    assert problem in problems[0]


def test_a_websocket_guard_alone_needs_no_origins() -> None:
    assert CorsOptions(guard_websockets=True).problems() == []


@pytest.mark.parametrize(
    ("configured", "sent"),
    [
        ("HTTPS://Good.Example.COM", GOOD),
        ("https://good.example.com:443", GOOD),
        ("http://good.example.com:80", "http://good.example.com"),
        ("http://good.example.com:8080", "http://good.example.com:8080"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", "null"),
    ],
)
async def test_configured_origins_are_normalised_as_browsers_send_them(
    configured: str, sent: str
) -> None:
    app, _ = build_app(allow_origins=[configured])
    async with TestClient(app) as client:
        response = await client.get("/things", headers={"origin": sent})
    assert response.headers["access-control-allow-origin"] == sent


def test_allows_origin() -> None:
    policy = CorsPolicy(CorsOptions(allow_origins=(GOOD,), allow_origin_regex=r"https://a\.b"))
    assert policy.allows_origin(GOOD)
    assert policy.allows_origin(b"https://a.b")
    assert not policy.allows_origin(EVIL)
    assert "CorsOptions" in repr(policy)
