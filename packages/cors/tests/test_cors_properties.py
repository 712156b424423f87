"""Properties: the preflight fast path answers as the general way does, and no answer ever
carries an origin other than the request's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi import Content, Info, Matches, Scope
from bareasgi_cors import CorsOptions, CorsPolicy

ORIGINS = [
    b"https://good.example.com",
    b"https://other.example.com",
    b"https://sub.good.example.com",
    b"https://evil.example.net",
    b"https://good.example.com.evil.net",
    b"HTTPS://good.example.com",
    b"null",
    b"",
    b"https://good.example.com/",
]
METHODS = [b"GET", b"POST", b"PUT", b"put", b"PATCH", b"patch", b"DELETE", b"PURGE", b"PU T", b""]
NAMES = [b"x-custom", b"x-other", b"content-type", b"authorization", b"X-Custom", b" x-a ", b"x;y"]

policies = st.builds(
    CorsOptions,
    allow_origins=st.sampled_from(
        [(), ("*",), ("https://good.example.com",), ("https://good.example.com", "null")]
    ),
    allow_origin_regex=st.sampled_from([None, r"https://([a-z]+\.)?good\.example\.com"]),
    allow_methods=st.sampled_from([(), ("*",), ("PUT", "patch"), ("GET", "DELETE")]),
    allow_headers=st.sampled_from([(), ("*",), ("X-Custom", "x-other")]),
    allow_credentials=st.booleans(),
    expose_headers=st.sampled_from([(), ("x-a",)]),
    max_age=st.sampled_from([None, 0, 600]),
    allow_private_network=st.booleans(),
).filter(lambda options: not options.problems())

header_lists = st.lists(
    st.one_of(
        st.tuples(st.just(b"origin"), st.sampled_from(ORIGINS)),
        st.tuples(st.just(b"access-control-request-method"), st.sampled_from(METHODS)),
        st.tuples(
            st.just(b"access-control-request-headers"),
            st.lists(st.sampled_from(NAMES), max_size=4).map(b",".join),
        ),
        st.tuples(
            st.just(b"access-control-request-private-network"), st.sampled_from([b"true", b"no"])
        ),
        st.tuples(st.just(b"accept"), st.just(b"*/*")),
    ),
    max_size=6,
)


NOT_A_PREFLIGHT = 299
"""The status the application answers with: the middleware passed the request on."""


@settings(max_examples=400, deadline=None)
@given(options=policies, headers=header_lists)
async def test_the_fast_preflight_answers_as_the_general_way(
    options: CorsOptions, headers: list[tuple[bytes, bytes]]
) -> None:
    """The middleware's fast path (taken twice: answering, then from what it kept) gives
    the general way's answer, or passes the request on exactly when that has none."""
    policy = CorsPolicy(options)

    async def app(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return NOT_A_PREFLIGHT, []

    general = policy._preflight_answer({"type": "http", "method": "OPTIONS", "headers": headers})
    for _ in range(2):
        scope: Scope = {"type": "http", "method": "OPTIONS", "headers": list(headers)}
        fast: Any = await policy.middleware(scope, {}, {}, _nothing(), app)
        if general is None:
            assert fast[0] == NOT_A_PREFLIGHT
        else:
            assert fast == general


@settings(max_examples=200, deadline=None)
@given(
    options=policies,
    origins=st.lists(st.one_of(st.none(), st.sampled_from(ORIGINS)), min_size=1, max_size=8),
)
async def test_an_answer_names_no_origin_but_its_own(
    options: CorsOptions, origins: list[bytes | None]
) -> None:
    policy = CorsPolicy(options)

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return 200, [(b"content-type", b"text/plain")], b"x"

    content: Content = _nothing()
    for method in ("GET", "OPTIONS"):
        for origin in origins:
            headers = [(b"origin", origin)] if origin is not None else []
            if method == "OPTIONS":
                headers.append((b"access-control-request-method", b"GET"))
            scope: Scope = {"type": "http", "method": method, "headers": headers}
            response: Any = await policy.middleware(scope, {}, {}, content, handler)
            assert isinstance(response, tuple)
            assert len(response) >= 2
            answer = dict(response[1] or [])
            allowed = answer.get(b"access-control-allow-origin")
            assert allowed in (None, b"*", origin)
            if allowed not in (None, b"*"):
                assert origin is not None
                assert policy.allows_origin(origin)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield
