"""The URL router: templates, types, priorities, methods, conflicts, url_for."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bareasgi.errors import InvalidPath
from bareasgi.routing import HttpRouter, Route, WebSocketRouter, split_path
from bareasgi.types import Content, HttpHandler, HttpResponse, Info, Matches, Scope


def handler_named(label: str) -> HttpHandler:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> int:
        return 200

    handler.__qualname__ = label
    return handler


async def ws_handler(scope: Scope, info: Info, matches: Matches, web_socket: Any) -> None:
    pass


def router_with(*routes: tuple[str, str] | tuple[str, str, set[str]]) -> HttpRouter:
    """A router with (label, template[, methods]) routes, each handler named by its label."""
    router = HttpRouter()
    for route in routes:
        label, template = route[0], route[1]
        methods = route[2] if len(route) == 3 else {"GET"}
        router.add(methods, template, handler_named(label))
    return router


def label_of(router: HttpRouter, method: str, raw_path: bytes) -> str | None:
    found = router.resolve(method, raw_path)
    return None if found is None else found[0].handler.__qualname__


def matches_of(router: HttpRouter, raw_path: bytes, method: str = "GET") -> dict[str, Any]:
    found = router.resolve(method, raw_path)
    assert found is not None, raw_path
    return found[1]


# ---- split_path -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_path", "segments"),
    [
        (b"/", [""]),
        (b"/a", ["a"]),
        (b"/a/", ["a", ""]),
        (b"/a//b", ["a", "", "b"]),
        (b"/a%20b/c", ["a b", "c"]),
        (b"/a%2Fb/c", ["a/b", "c"]),
        (b"/a%2fb", ["a/b"]),
        (b"/%25", ["%"]),
        (b"/caf%C3%A9", ["café"]),
        (b"/caf\xc3\xa9", ["café"]),
        (b"/a/../b/./c", ["a", "..", "b", ".", "c"]),
        (b"/%2E%2E", [".."]),
        (b"/a+b", ["a+b"]),
    ],
)
def test_split_path(raw_path: bytes, segments: list[str]) -> None:
    assert split_path(raw_path) == segments


@pytest.mark.parametrize(
    "raw_path",
    [
        b"/%zz",
        b"/%4",
        b"/a%",
        b"/%",
        b"/ok/%g0",
        b"/%C3",  # a truncated UTF-8 sequence
        b"/%FF",
        b"/%C0%AF",  # an overlong '/'
        b"/%ED%A0%80",  # a surrogate
        b"/\xff",
        b"/a/\xc3",
    ],
)
def test_split_path_refuses_invalid_encoding(raw_path: bytes) -> None:
    with pytest.raises(InvalidPath):
        split_path(raw_path)


@pytest.mark.parametrize("raw_path", [b"", b"*", b"a/b", b"http://example.com/"])
def test_split_path_needs_a_leading_slash(raw_path: bytes) -> None:
    with pytest.raises(InvalidPath):
        split_path(raw_path)


# ---- literal routes -------------------------------------------------------------------------


def test_literal_route() -> None:
    router = router_with(("hello", "/hello-world"))
    route, matches = router.resolve("GET", b"/hello-world") or (None, None)
    assert isinstance(route, Route)
    assert route.template == "/hello-world"
    assert matches == {}
    assert router.resolve("GET", b"/hello-world/") is None
    assert router.resolve("GET", b"/hello") is None
    assert router.resolve("GET", b"/hello-world/x") is None


def test_literal_route_matches_encoded_forms_of_itself() -> None:
    router = router_with(("hello", "/hello-world"), ("colon", "/a:b"))
    assert label_of(router, "GET", b"/hello%2Dworld") == "hello"
    assert label_of(router, "GET", b"/%68ello-world") == "hello"
    assert label_of(router, "GET", b"/a:b") == "colon"
    assert label_of(router, "GET", b"/a%3Ab") == "colon"


def test_literal_segments_are_in_decoded_form() -> None:
    router = router_with(("space", "/a b"), ("cafe", "/café"), ("pct", "/100%"))
    assert label_of(router, "GET", b"/a%20b") == "space"
    assert label_of(router, "GET", b"/caf%C3%A9") == "cafe"
    assert label_of(router, "GET", b"/caf\xc3\xa9") == "cafe"
    assert label_of(router, "GET", b"/100%25") == "pct"
    with pytest.raises(InvalidPath):
        router.resolve("GET", b"/100%")


def test_root_and_trailing_slashes_are_significant() -> None:
    router = router_with(("root", "/"), ("a", "/a"), ("a/", "/a/"), ("a//", "/a//"))
    assert label_of(router, "GET", b"/") == "root"
    assert label_of(router, "GET", b"/a") == "a"
    assert label_of(router, "GET", b"/a/") == "a/"
    assert label_of(router, "GET", b"/a//") == "a//"
    assert label_of(router, "GET", b"//") is None
    assert label_of(router, "GET", b"/a///") is None


def test_dot_segments_are_plain_literals() -> None:
    router = router_with(("dots", "/a/../b"), ("b", "/b"), ("param", "/x/{name}/y"))
    assert label_of(router, "GET", b"/a/../b") == "dots"
    assert label_of(router, "GET", b"/a/%2E%2E/b") == "dots"
    assert label_of(router, "GET", b"/b") == "b"
    assert label_of(router, "GET", b"/a/b") is None
    assert matches_of(router, b"/x/../y") == {"name": ".."}
    assert matches_of(router, b"/x/./y") == {"name": "."}


@pytest.mark.parametrize("raw_path", [b"", b"*", b"hello-world", b"hello-world/"])
def test_paths_not_starting_with_slash_match_nothing(raw_path: bytes) -> None:
    router = router_with(("hello", "/hello-world"), ("any", "/{x}"), ("all", "/{p:path}"))
    assert router.resolve("GET", raw_path) is None
    assert router.allowed(raw_path) is None


def test_the_request_method_is_not_folded() -> None:
    router = router_with(("lower", "/a", {"get"}))
    assert router.resolve("GET", b"/a") is not None
    assert router.resolve("get", b"/a") is None
    route = next(iter(router))
    assert route.methods == frozenset({"GET"})


# ---- parameter types --------------------------------------------------------------------------


def test_str_parameter() -> None:
    router = router_with(("user", "/users/{name}"))
    assert matches_of(router, b"/users/alice") == {"name": "alice"}
    assert matches_of(router, b"/users/J%C3%BCrgen") == {"name": "Jürgen"}
    assert matches_of(router, b"/users/a%20b") == {"name": "a b"}
    assert matches_of(router, b"/users/a%2Fb") == {"name": "a/b"}
    assert matches_of(router, b"/users/a%5Cb") == {"name": "a\\b"}
    assert matches_of(router, b"/users/%25") == {"name": "%"}
    assert matches_of(router, b"/users/..") == {"name": ".."}
    assert router.resolve("GET", b"/users/") is None  # str never matches an empty segment
    assert router.resolve("GET", b"/users") is None
    assert router.resolve("GET", b"/users/a/b") is None


def test_explicit_str_type() -> None:
    router = router_with(("user", "/users/{name:str}"), ("path", "/p/{path:str}"))
    assert matches_of(router, b"/users/alice") == {"name": "alice"}
    assert matches_of(router, b"/p/x") == {"path": "x"}
    assert router.resolve("GET", b"/p/x/y") is None  # {path:str} is a str, not a path


@pytest.mark.parametrize(
    ("segment", "value"),
    [
        (b"0", 0),
        (b"123", 123),
        (b"-5", -5),
        (b"-0", 0),
        (b"007", 7),
        (b"9" * 100, int("9" * 100)),
    ],
)
def test_int_parameter_matches(segment: bytes, value: int) -> None:
    router = router_with(("item", "/items/{id:int}"))
    matches = matches_of(router, b"/items/" + segment)
    assert matches == {"id": value}
    assert type(matches["id"]) is int


@pytest.mark.parametrize(
    "segment",
    [
        b"",
        b"-",
        b"+5",
        b"%2B5",
        b"%205",
        b"5%20",
        b"1_000",
        b"0x10",
        b"1.0",
        b"1e3",
        b"--5",
        b"5-",
        b"abc",
        "\u0661\u0662\u0663".encode(),  # Arabic-Indic 123: int() reads them, we don't
        b"%D9%A1%D9%A2",
        "²".encode(),
        b"\xef\xbc\x91",  # fullwidth 1
        b"1" * 5000,  # more digits than int() reads by default: no match, no error
    ],
)
def test_int_parameter_refuses(segment: bytes) -> None:
    router = router_with(("item", "/items/{id:int}"))
    assert router.resolve("GET", b"/items/" + segment) is None


@pytest.mark.parametrize(
    ("segment", "value"),
    [
        (b"1", 1.0),
        (b"1.5", 1.5),
        (b"-2.25", -2.25),
        (b"0.0", 0.0),
        (b"1e5", 1e5),
        (b"1.5E-3", 1.5e-3),
        (b"2e%2B10", 2e10),
        (b"1e-05", 1e-05),
    ],
)
def test_float_parameter_matches(segment: bytes, value: float) -> None:
    router = router_with(("price", "/price/{amount:float}"))
    matches = matches_of(router, b"/price/" + segment)
    assert matches == {"amount": value}
    assert type(matches["amount"]) is float


@pytest.mark.parametrize(
    "segment",
    [
        b"",
        b"nan",
        b"NaN",
        b"inf",
        b"-inf",
        b"Infinity",
        b"1e999",  # overflows to inf
        b"1_0",
        b"1.0_1",
        b"%201.5",
        b"1.5%20",
        b"+1.5",
        b"1.",
        b".5",
        b"-",
        b"1e",
        b"1e+",
        b"0x1p3",
        b"1,5",
        "\u0661.\u0665".encode(),  # Arabic-Indic 1.5
    ],
)
def test_float_parameter_refuses(segment: bytes) -> None:
    router = router_with(("price", "/price/{amount:float}"))
    assert router.resolve("GET", b"/price/" + segment) is None


def test_datetime_parameter_with_format() -> None:
    router = router_with(("day", "/day/{when:datetime:%Y-%m-%d}"))
    assert matches_of(router, b"/day/2024-02-29") == {"when": datetime(2024, 2, 29)}
    assert router.resolve("GET", b"/day/2023-02-29") is None
    assert router.resolve("GET", b"/day/2024-2-30") is None
    assert router.resolve("GET", b"/day/today") is None
    assert router.resolve("GET", b"/day/") is None


def test_datetime_format_may_contain_colons() -> None:
    router = router_with(("at", "/at/{when:datetime:%Y-%m-%dT%H:%M}"))
    assert matches_of(router, b"/at/2024-01-02T03:04") == {"when": datetime(2024, 1, 2, 3, 4)}
    assert matches_of(router, b"/at/2024-01-02T03%3A04") == {"when": datetime(2024, 1, 2, 3, 4)}
    assert router.resolve("GET", b"/at/2024-01-02") is None


def test_datetime_parameter_iso() -> None:
    router = router_with(("iso", "/iso/{when:datetime}"))
    assert matches_of(router, b"/iso/2024-01-02") == {"when": datetime(2024, 1, 2)}
    assert matches_of(router, b"/iso/2024-01-02T03:04:05") == {
        "when": datetime(2024, 1, 2, 3, 4, 5)
    }
    aware = matches_of(router, b"/iso/2024-01-02T03:04:05%2B01:00")["when"]
    assert aware == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert router.resolve("GET", b"/iso/yesterday") is None
    assert router.resolve("GET", b"/iso/2024-13-01") is None


def test_path_parameter() -> None:
    router = router_with(("static", "/static/{file:path}"))
    assert matches_of(router, b"/static/a") == {"file": "a"}
    assert matches_of(router, b"/static/a/b/c.txt") == {"file": "a/b/c.txt"}
    assert matches_of(router, b"/static/a/") == {"file": "a/"}
    assert matches_of(router, b"/static/") == {"file": ""}
    assert matches_of(router, b"/static//x") == {"file": "/x"}
    assert matches_of(router, b"/static/a%20b/%C3%A9") == {"file": "a b/é"}
    assert matches_of(router, b"/static/../etc") == {"file": "../etc"}
    assert router.resolve("GET", b"/static") is None
    assert router.resolve("GET", b"/staticx/a") is None


def test_a_parameter_named_path_is_a_path_parameter() -> None:
    router = router_with(("static", "/static/{path}"))
    assert matches_of(router, b"/static/a/b") == {"path": "a/b"}
    assert matches_of(router, b"/static/") == {"path": ""}
    assert router.resolve("GET", b"/static") is None


def test_path_parameter_at_the_root() -> None:
    router = router_with(("all", "/{p:path}"))
    assert matches_of(router, b"/") == {"p": ""}
    assert matches_of(router, b"/a/b/") == {"p": "a/b/"}


@pytest.mark.parametrize("segment", [b"a%2Fb", b"a%5Cb", b"a%00b", b"a\\b", b"%2F"])
def test_path_parameter_refuses_slash_backslash_and_nul_in_a_segment(segment: bytes) -> None:
    router = router_with(("static", "/static/{p:path}"))
    assert router.resolve("GET", b"/static/" + segment) is None
    assert router.resolve("GET", b"/static/ok/" + segment + b"/more") is None
    assert router.allowed(b"/static/ok/" + segment) is None


def test_a_refused_path_parameter_falls_back_to_the_next_candidate() -> None:
    router = router_with(
        ("deep", "/files/{p:path}"),
        ("two", "/{dir}/{d}/{name}"),
        ("catch-all", "/{rest:path}"),
    )
    assert label_of(router, "GET", b"/files/x/y") == "deep"
    assert label_of(router, "GET", b"/files/x/a%2Fb") == "two"
    assert matches_of(router, b"/files/x/a%2Fb") == {"dir": "files", "d": "x", "name": "a/b"}
    # Every path route refuses it, and no other route has that many segments.
    assert router.resolve("GET", b"/files/x/a%2Fb/c") is None


def test_a_refused_path_parameter_lets_a_str_route_win() -> None:
    router = router_with(("path", "/f/{p:path}"), ("str", "/f/{name}"))
    assert matches_of(router, b"/f/a%2Fb") == {"name": "a/b"}
    assert label_of(router, "GET", b"/f/a") == "str"  # str beats path anyway


def test_several_parameters() -> None:
    router = router_with(
        ("article", "/foo/{name}/{id:int}/{created:datetime:%Y-%m-%d}"),
        ("posts", "/users/{id:int}/posts/{slug}"),
    )
    assert matches_of(router, b"/foo/bar/12/2024-05-06") == {
        "name": "bar",
        "id": 12,
        "created": datetime(2024, 5, 6),
    }
    assert matches_of(router, b"/users/123/posts/abc") == {"id": 123, "slug": "abc"}
    assert router.resolve("GET", b"/foo/bar/x/2024-05-06") is None


def test_many_parameters() -> None:
    template = "/" + "/".join(f"{{p{i}:int}}" for i in range(12))
    router = router_with(("many", template))
    raw = ("/" + "/".join(str(i) for i in range(12))).encode()
    assert matches_of(router, raw) == {f"p{i}": i for i in range(12)}


def test_each_resolve_returns_a_new_matches_dict() -> None:
    router = router_with(("user", "/users/{name}"), ("hello", "/hello"))
    first = matches_of(router, b"/users/a")
    first["injected"] = True
    assert matches_of(router, b"/users/a") == {"name": "a"}
    empty = matches_of(router, b"/hello")
    empty["injected"] = True
    assert matches_of(router, b"/hello") == {}


def test_same_shape_different_parameter_names_per_method() -> None:
    router = router_with(("get", "/u/{id:int}", {"GET"}), ("post", "/u/{uid:int}", {"POST"}))
    assert matches_of(router, b"/u/1", "GET") == {"id": 1}
    assert matches_of(router, b"/u/1", "POST") == {"uid": 1}


# ---- priorities and backtracking ---------------------------------------------------------------

PRIORITY_ROUTES = [
    ("path", "/x/{p:path}"),
    ("str", "/x/{s}"),
    ("datetime", "/x/{d:datetime:%Y-%m-%d}"),
    ("float", "/x/{f:float}"),
    ("int", "/x/{i:int}"),
    ("literal", "/x/42"),
]


@pytest.mark.parametrize("order", ["reversed", "given"])
@pytest.mark.parametrize(
    ("raw_path", "label"),
    [
        (b"/x/42", "literal"),
        (b"/x/43", "int"),
        (b"/x/-1", "int"),
        (b"/x/4.5", "float"),
        (b"/x/2024-01-01", "datetime"),
        (b"/x/hello", "str"),
        (b"/x/", "path"),
        (b"/x/a/b", "path"),
    ],
)
def test_priority_at_one_segment(raw_path: bytes, label: str, order: str) -> None:
    routes = PRIORITY_ROUTES if order == "given" else PRIORITY_ROUTES[::-1]
    router = router_with(*routes)
    assert label_of(router, "GET", raw_path) == label


def test_literal_wins_even_when_added_last() -> None:
    router = router_with(("param", "/users/{name}"), ("me", "/users/me"))
    assert label_of(router, "GET", b"/users/me") == "me"
    assert label_of(router, "GET", b"/users/you") == "param"


def test_backtracking_when_a_literal_branch_fails_deeper() -> None:
    router = router_with(("literal", "/a/b/c"), ("param", "/a/{x}/d"))
    assert label_of(router, "GET", b"/a/b/c") == "literal"
    assert label_of(router, "GET", b"/a/b/d") == "param"
    assert matches_of(router, b"/a/b/d") == {"x": "b"}


def test_backtracking_through_typed_branches() -> None:
    router = router_with(
        ("int", "/a/{n:int}/b"),
        ("float", "/a/{f:float}/c"),
        ("str", "/a/{s}/d"),
        ("path", "/a/{p:path}"),
    )
    assert matches_of(router, b"/a/1/b") == {"n": 1}
    assert matches_of(router, b"/a/1/c") == {"f": 1.0}
    assert matches_of(router, b"/a/1/d") == {"s": "1"}
    assert matches_of(router, b"/a/1/e") == {"p": "1/e"}
    assert matches_of(router, b"/a/1/b/extra") == {"p": "1/b/extra"}


def test_backtracking_discards_values_of_failed_branches() -> None:
    router = router_with(
        ("deep-int", "/{a:int}/{b:int}/{c:int}/x"),
        ("str", "/{s}/{t}/{u}/y"),
    )
    assert matches_of(router, b"/1/2/3/y") == {"s": "1", "t": "2", "u": "3"}
    assert matches_of(router, b"/1/2/3/x") == {"a": 1, "b": 2, "c": 3}


def test_backtracking_on_method() -> None:
    router = router_with(
        ("me", "/users/me", {"GET"}),
        ("update", "/users/{name}", {"POST"}),
        ("int", "/n/{i:int}", {"GET"}),
        ("str", "/n/{s}", {"DELETE"}),
    )
    assert label_of(router, "GET", b"/users/me") == "me"
    assert label_of(router, "POST", b"/users/me") == "update"
    assert matches_of(router, b"/users/me", "POST") == {"name": "me"}
    assert label_of(router, "DELETE", b"/n/5") == "str"
    assert label_of(router, "PUT", b"/n/5") is None


def test_among_equal_types_the_first_added_wins() -> None:
    router = router_with(
        ("ymd", "/d/{when:datetime:%Y-%m-%d}"),
        ("ydm", "/d/{when:datetime:%Y-%d-%m}"),
    )
    assert label_of(router, "GET", b"/d/2024-01-02") == "ymd"
    assert matches_of(router, b"/d/2024-01-02") == {"when": datetime(2024, 1, 2)}
    assert label_of(router, "GET", b"/d/2024-31-12") == "ydm"  # only %Y-%d-%m parses it

    reversed_router = router_with(
        ("ydm", "/d/{when:datetime:%Y-%d-%m}"),
        ("ymd", "/d/{when:datetime:%Y-%m-%d}"),
    )
    assert label_of(reversed_router, "GET", b"/d/2024-01-02") == "ydm"


def test_datetime_iso_and_formatted_are_different_shapes() -> None:
    router = router_with(
        ("iso", "/d/{when:datetime}"),
        ("fmt", "/d/{when:datetime:%d.%m.%Y}"),
    )
    assert label_of(router, "GET", b"/d/2024-01-02") == "iso"
    assert label_of(router, "GET", b"/d/02.01.2024") == "fmt"


def test_encoded_slash_never_splits_or_joins_segments() -> None:
    router = router_with(("one", "/files/{name}"), ("two", "/files/{a}/{b}"))
    assert matches_of(router, b"/files/a%2Fb") == {"name": "a/b"}
    assert matches_of(router, b"/files/a/b") == {"a": "a", "b": "b"}
    literal = router_with(("ab", "/a/b"))
    assert literal.resolve("GET", b"/a%2Fb") is None


# ---- HEAD and allowed() -------------------------------------------------------------------------


def test_get_answers_head() -> None:
    router = router_with(("get", "/a"), ("get-param", "/b/{x}"))
    assert label_of(router, "HEAD", b"/a") == "get"
    assert label_of(router, "HEAD", b"/b/1") == "get-param"
    route = next(iter(router))
    assert route.methods == frozenset({"GET"})


@pytest.mark.parametrize("head_first", [True, False])
def test_an_explicit_head_replaces_the_implicit_one(head_first: bool) -> None:
    routes = [("get", "/a", {"GET"}), ("head", "/a", {"HEAD"})]
    router = router_with(*(routes[::-1] if head_first else routes))
    assert label_of(router, "HEAD", b"/a") == "head"
    assert label_of(router, "GET", b"/a") == "get"


def test_an_explicit_head_with_get() -> None:
    router = router_with(("both", "/a", {"GET", "HEAD"}))
    assert label_of(router, "HEAD", b"/a") == "both"
    with pytest.raises(ValueError, match="HEAD"):
        router.add({"HEAD"}, "/a", handler_named("other"))


def test_two_explicit_heads_conflict() -> None:
    router = router_with(("get", "/a", {"GET"}), ("head", "/a", {"HEAD"}))
    with pytest.raises(ValueError, match=r"'/a'.*'/a'.*HEAD"):
        router.add({"HEAD"}, "/a", handler_named("again"))


def test_head_of_another_shape_does_not_replace_the_implicit_one() -> None:
    router = router_with(("get-int", "/a/{n:int}", {"GET"}), ("head-str", "/a/{s}", {"HEAD"}))
    assert label_of(router, "HEAD", b"/a/1") == "get-int"
    assert label_of(router, "HEAD", b"/a/x") == "head-str"


def test_implicit_head_on_a_path_parameter() -> None:
    router = router_with(("static", "/static/{p:path}"))
    assert label_of(router, "HEAD", b"/static/a/b") == "static"


def test_allowed_unions_the_methods_of_every_matching_route() -> None:
    router = router_with(
        ("get-int", "/items/{id:int}", {"GET"}),
        ("delete-int", "/items/{id:int}", {"DELETE"}),
        ("put-str", "/items/{name}", {"PUT"}),
        ("post-path", "/items/{p:path}", {"POST"}),
        ("other", "/other", {"PATCH"}),
    )
    found = router.allowed(b"/items/5")
    assert found is not None
    route, methods = found
    assert route.handler.__qualname__ == "get-int"
    assert methods == frozenset({"GET", "HEAD", "DELETE", "PUT", "POST"})

    found = router.allowed(b"/items/abc")
    assert found is not None
    assert found[0].handler.__qualname__ == "put-str"
    assert found[1] == frozenset({"PUT", "POST"})

    found = router.allowed(b"/items/a/b")
    assert found is not None
    assert found[1] == frozenset({"POST"})

    assert router.allowed(b"/nothing") is None
    assert router.allowed(b"/items") is None


def test_allowed_first_route_is_the_first_added_in_the_first_leaf() -> None:
    router = router_with(
        ("post", "/a", {"POST"}),
        ("get", "/a", {"GET"}),
        ("param", "/{x}", {"PUT"}),
    )
    found = router.allowed(b"/a")
    assert found is not None
    assert found[0].handler.__qualname__ == "post"
    assert found[1] == frozenset({"POST", "GET", "HEAD", "PUT"})


def test_allowed_with_an_explicit_head_only() -> None:
    router = router_with(("head", "/a", {"HEAD"}))
    assert router.allowed(b"/a") == (next(iter(router)), frozenset({"HEAD"}))
    assert router.resolve("GET", b"/a") is None


def test_allowed_refuses_invalid_paths() -> None:
    router = router_with(("a", "/a"))
    with pytest.raises(InvalidPath):
        router.allowed(b"/%zz")


# ---- conflicts and names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/a", "/a"),
        ("/users/{id:int}", "/users/{uid:int}"),
        ("/users/{name}", "/users/{other:str}"),
        ("/d/{a:datetime:%Y}", "/d/{b:datetime:%Y}"),
        ("/d/{a:datetime}", "/d/{b:datetime}"),
        ("/static/{path}", "/static/{file:path}"),
        ("/a%20b", "/a%20b"),
    ],
)
def test_same_shape_on_the_same_method_conflicts(first: str, second: str) -> None:
    router = HttpRouter()
    router.add({"GET", "POST"}, first, handler_named("first"))
    with pytest.raises(ValueError, match="conflicts") as caught:
        router.add({"POST"}, second, handler_named("second"))
    message = str(caught.value)
    assert repr(first) in message
    assert repr(second) in message
    assert "POST" in message
    assert len(router) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/a", "/a/"),
        ("/a", "/b"),
        ("/users/{id:int}", "/users/{id:float}"),
        ("/users/{id:int}", "/users/{id}"),
        ("/d/{a:datetime:%Y}", "/d/{a:datetime:%y}"),
        ("/d/{a:datetime}", "/d/{a:datetime:%Y}"),
        ("/s/{p:path}", "/s/{p}"),
        ("/s/{p:path}", "/s/{p}/{q:path}"),
    ],
)
def test_different_shapes_do_not_conflict(first: str, second: str) -> None:
    router = HttpRouter()
    router.add({"GET"}, first, handler_named("first"))
    router.add({"GET"}, second, handler_named("second"))
    assert len(router) == 2


def test_same_shape_on_other_methods_is_fine() -> None:
    router = router_with(("get", "/a/{x}", {"GET"}), ("post", "/a/{y}", {"POST", "PUT"}))
    assert label_of(router, "PUT", b"/a/1") == "post"


def test_a_refused_route_changes_nothing() -> None:
    router = router_with(("get", "/a/{x:int}", {"GET"}))
    with pytest.raises(ValueError, match="conflicts"):
        router.add({"POST", "GET"}, "/a/{y:int}", handler_named("bad"), name="bad")
    assert router.resolve("POST", b"/a/1") is None
    assert len(router) == 1
    router.add({"POST"}, "/a/{y:int}", handler_named("good"), name="bad")


def test_duplicate_names_are_refused() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/a", handler_named("a"), name="home")
    with pytest.raises(ValueError, match=r"'home'.*'/a'"):
        router.add({"GET"}, "/b", handler_named("b"), name="home")
    assert len(router) == 1
    assert router.url_for("home") == "/a"


# ---- bad templates and bad arguments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("", "must start with '/'"),
        ("users", "must start with '/'"),
        ("{id}", "must start with '/'"),
        ("/users/{id:integer}", "unknown type 'integer'"),
        ("/users/{id:}", "unknown type ''"),
        ("/a/{x}/{x:int}", "'x' appears twice"),
        ("/a/{x", "unbalanced"),
        ("/a/x}", "unbalanced"),
        ("/a/{{x}", "unbalanced"),
        ("/a/{x}}", "unbalanced"),
        ("/a/{x}{y}", "more than one parameter"),
        ("/a/pre{x}", "whole segment"),
        ("/a/{x}.json", "whole segment"),
        ("/a/}x{", "whole segment"),
        ("/a/{}", "not an identifier"),
        ("/a/{:int}", "not an identifier"),
        ("/a/{1x}", "not an identifier"),
        ("/a/{x y}", "not an identifier"),
        ("/a/{p:path}/b", "must be the last segment"),
        ("/a/{path}/b", "must be the last segment"),
        ("/a/{p:path}/", "must be the last segment"),
        ("/a/{x:int:%d}", "takes no format"),
        ("/a/{x:datetime:}", "empty datetime format"),
        ("/a/{x:datetime:%Y/%m/%d}", "unbalanced"),
        ("/a/{x:datetime:%Q}", "cannot read back"),
        ("/a/{x:datetime:%Y-%}", "cannot read back"),
    ],
)
def test_bad_templates_are_refused(template: str, message: str) -> None:
    router = HttpRouter()
    with pytest.raises(ValueError, match=message) as caught:
        router.add({"GET"}, template, handler_named("h"))
    assert repr(template) in str(caught.value)
    assert len(router) == 0


def test_template_must_be_a_str() -> None:
    with pytest.raises(TypeError, match="str"):
        HttpRouter().add({"GET"}, b"/a", handler_named("h"))  # type: ignore[arg-type]


def test_methods_must_be_a_set_of_str() -> None:
    router = HttpRouter()
    with pytest.raises(TypeError, match="set of str"):
        router.add("GET", "/a", handler_named("h"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="set of str"):
        router.add({b"GET"}, "/a", handler_named("h"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one method"):
        router.add(set(), "/a", handler_named("h"))
    router.add(frozenset({"GET"}), "/a", handler_named("h"))
    router.add({"post", "Put"}, "/a", handler_named("h2"))
    assert [route.methods for route in router] == [
        frozenset({"GET"}),
        frozenset({"POST", "PUT"}),
    ]


def sync_handler(scope: Scope, info: Info, matches: Matches, content: Content) -> int:
    return 200


class SyncCallable:
    def __call__(self, scope: Scope, info: Info, matches: Matches, content: Content) -> int:
        return 200


class AsyncCallable:
    async def __call__(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200


class WithMethod:
    async def handle(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        return 200


async def async_generator(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
    yield b""


async def with_greeting(
    greeting: str, scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    return 200


@pytest.mark.parametrize(
    ("handler", "name"),
    [
        (sync_handler, "sync_handler"),
        (lambda scope, info, matches, content: 200, "<lambda>"),
        (SyncCallable(), "SyncCallable"),
        (AsyncCallable, "AsyncCallable"),  # the class itself is not an async callable
        (async_generator, "async_generator"),
        (functools.partial(sync_handler), "partial"),
        (print, "print"),
    ],
)
def test_non_async_handlers_are_refused(handler: Any, name: str) -> None:
    router = HttpRouter()
    with pytest.raises(TypeError, match="must be async") as caught:
        router.add({"GET"}, "/a", handler)
    assert name in str(caught.value)
    assert len(router) == 0
    ws_router = WebSocketRouter()
    with pytest.raises(TypeError, match="must be async"):
        ws_router.add("/a", handler)


def test_async_callables_are_accepted() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/function", handler_named("f"))
    router.add({"GET"}, "/object", AsyncCallable())
    router.add({"GET"}, "/method", WithMethod().handle)
    router.add({"GET"}, "/partial", functools.partial(with_greeting, "hi"))
    router.add({"GET"}, "/partial2", functools.partial(functools.partial(with_greeting), "hi"))
    assert len(router) == 5


# ---- url_for ---------------------------------------------------------------------------------


def test_url_for_literal_and_typed_parameters() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/hello-world", handler_named("a"), name="hello")
    router.add(
        {"GET"},
        "/foo/{name}/{id:int}/{created:datetime:%Y-%m-%d}",
        handler_named("b"),
        name="foo",
    )
    router.add({"GET"}, "/price/{amount:float}", handler_named("c"), name="price")
    router.add({"GET"}, "/iso/{when:datetime}", handler_named("d"), name="iso")
    router.add({"GET"}, "/static/{p:path}", handler_named("e"), name="static")
    assert router.url_for("hello") == "/hello-world"
    assert (
        router.url_for("foo", name="a b/c", id=7, created=datetime(2024, 5, 6))
        == "/foo/a%20b%2Fc/7/2024-05-06"
    )
    assert router.url_for("price", amount=1.5) == "/price/1.5"
    assert router.url_for("price", amount=1e-5) == "/price/1e-05"
    assert router.url_for("iso", when=datetime(2024, 1, 2, 3, 4)) == "/iso/2024-01-02T03%3A04%3A00"
    assert router.url_for("static", p="css/a b.css") == "/static/css/a%20b.css"
    assert router.url_for("static", p="") == "/static/"


def test_url_for_encodes_literals() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/café/a b/100%/a:b/{x}", handler_named("a"), name="odd")
    url = router.url_for("odd", x="%")
    assert url == "/caf%C3%A9/a%20b/100%25/a:b/%25"
    assert router.resolve("GET", url.encode()) is not None


def test_url_for_values_given_as_text() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/n/{n:int}/{d:datetime:%Y}", handler_named("a"), name="n")
    assert router.url_for("n", n="12", d="2024") == "/n/12/2024"


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("/n/{n:int}", {"n": "twelve"}),
        ("/n/{n:int}", {"n": True}),
        ("/n/{n:int}", {"n": 1.5}),
        ("/f/{f:float}", {"f": float("nan")}),
        ("/f/{f:float}", {"f": float("inf")}),
        ("/s/{s}", {"s": ""}),
        ("/d/{d:datetime:%Y-%m-%d}", {"d": "yesterday"}),
        ("/d/{d:datetime}", {"d": "yesterday"}),
        ("/p/{p:path}", {"p": "a\\b"}),
        ("/p/{p:path}", {"p": "a\x00b"}),
    ],
)
def test_url_for_refuses_values_that_would_not_match(template: str, params: dict[str, Any]) -> None:
    router = HttpRouter()
    router.add({"GET"}, template, handler_named("a"), name="r")
    with pytest.raises(ValueError, match="'r'"):
        router.url_for("r", **params)


def test_url_for_missing_unexpected_and_unknown() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/u/{id:int}/{slug}", handler_named("a"), name="user")
    with pytest.raises(KeyError, match="slug"):
        router.url_for("user", id=1)
    with pytest.raises(TypeError, match="extra"):
        router.url_for("user", id=1, slug="x", extra=2)
    with pytest.raises(KeyError, match="nobody"):
        router.url_for("nobody")
    with pytest.raises(TypeError, match="extra"):
        router.url_for("user", id=1, extra=2, other=3)


def test_url_for_parameter_may_be_called_name() -> None:
    router = HttpRouter()
    router.add({"GET"}, "/u/{name}", handler_named("a"), name="user")
    assert router.url_for("user", name="x") == "/u/x"


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("/a", {}),
        ("/", {}),
        ("/a/", {}),
        ("/u/{name}", {"name": "a/b c%d?e#f+g&h=é☃"}),
        ("/u/{name}", {"name": ".."}),
        ("/u/{name}", {"name": "\\"}),
        ("/n/{n:int}", {"n": -123}),
        ("/f/{f:float}", {"f": -0.25}),
        ("/f/{f:float}", {"f": 1e300}),
        ("/d/{d:datetime:%Y-%m-%dT%H:%M:%S}", {"d": datetime(2001, 2, 3, 4, 5, 6)}),
        ("/d/{d:datetime}", {"d": datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC)}),
        ("/p/{p:path}", {"p": "a/b c/é/%/"}),
        ("/p/{p:path}", {"p": "//"}),
        ("/p/{p:path}", {"p": ""}),
        ("/x/{path}", {"path": "deep/er"}),
    ],
)
def test_url_for_round_trips(template: str, params: dict[str, Any]) -> None:
    router = HttpRouter()
    router.add({"GET"}, template, handler_named("a"), name="r")
    url = router.url_for("r", **params)
    assert url.isascii()
    assert matches_of(router, url.encode()) == params


# ---- set_wrapper, iteration ------------------------------------------------------------------


def test_set_wrapper_wraps_existing_and_later_routes() -> None:
    router = HttpRouter()
    first = router.add({"GET"}, "/a", handler_named("a"))
    assert first.call is first.handler
    wrapped: dict[object, HttpHandler] = {}

    def wrap(handler: HttpHandler) -> HttpHandler:
        async def wrapper(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
            return await handler(scope, info, matches, content)

        wrapped[handler] = wrapper
        return wrapper

    router.set_wrapper(wrap)
    second = router.add({"GET"}, "/b", handler_named("b"))
    assert first.call is wrapped[first.handler]
    assert second.call is wrapped[second.handler]
    assert first.handler.__qualname__ == "a"
    found = router.resolve("GET", b"/b")
    assert found is not None
    assert found[0].call is wrapped[second.handler]

    router.set_wrapper(None)
    third = router.add({"GET"}, "/c", handler_named("c"))
    assert [route.call for route in router] == [route.handler for route in router]
    assert third.call is third.handler


def test_iteration_and_len() -> None:
    router = HttpRouter()
    assert len(router) == 0
    assert list(router) == []
    routes = [
        router.add({"GET"}, "/b", handler_named("b"), name="b"),
        router.add({"GET", "POST"}, "/a/{x}", handler_named("a")),
        router.add({"HEAD"}, "/b", handler_named("head")),
    ]
    assert list(router) == routes
    assert len(router) == 3
    assert [route.template for route in router] == ["/b", "/a/{x}", "/b"]
    assert [route.name for route in router] == ["b", None, None]
    assert "'/a/{x}'" in repr(routes[1])
    assert "3" in repr(router)


# ---- scale and hostile input ------------------------------------------------------------------


def test_ten_thousand_segments_are_rejected() -> None:
    router = router_with(("a", "/a/{x}"), ("b", "/{x}/{y:int}"), ("c", "/{x}/{y}/{z}"))
    raw = b"/" + b"/".join([b"a"] * 10_000)
    assert router.resolve("GET", raw) is None
    assert router.allowed(raw) is None


def test_ten_thousand_segments_in_a_path_parameter() -> None:
    router = router_with(("static", "/static/{p:path}"), ("x", "/{x}/{y}"))
    raw = b"/static/" + b"/".join([b"a"] * 10_000)
    assert matches_of(router, raw) == {"p": "/".join(["a"] * 10_000)}
    assert router.allowed(raw) is not None
    assert router.resolve("GET", raw + b"/%2F") is None


def test_a_very_long_segment() -> None:
    router = router_with(("x", "/x/{s}"), ("n", "/x/{n:int}"))
    long_value = "é" * 100_000
    url = "/x/" + "%C3%A9" * 100_000
    assert matches_of(router, url.encode()) == {"s": long_value}


def test_deep_templates_with_branches_at_every_level() -> None:
    depth = 200
    router = HttpRouter()
    router.add({"GET"}, "/" + "/".join(f"{{i{n}:int}}" for n in range(depth)), handler_named("i"))
    router.add({"GET"}, "/" + "/".join(f"{{s{n}}}" for n in range(depth)), handler_named("s"))
    ints = ("/" + "/".join(["1"] * depth)).encode()
    assert label_of(router, "GET", ints) == "i"
    mixed = ("/" + "/".join(["1"] * (depth - 1) + ["x"])).encode()
    assert label_of(router, "GET", mixed) == "s"
    assert router.resolve("GET", ints + b"/1") is None


def test_a_thousand_routes() -> None:
    router = HttpRouter()
    for i in range(1000):
        router.add({"GET"}, f"/r{i}/{{id:int}}", handler_named(f"r{i}"))
    assert label_of(router, "GET", b"/r999/5") == "r999"
    assert matches_of(router, b"/r0/7") == {"id": 7}
    assert router.resolve("GET", b"/r1000/5") is None
    assert len(router) == 1000


@pytest.mark.parametrize(
    "raw_path",
    [b"/a%zz", b"/a/%", b"/%C3%28", b"/\x80", b"/ok/%E2%82"],
)
def test_invalid_paths_raise_even_without_a_matching_route(raw_path: bytes) -> None:
    router = router_with(("a", "/a"))
    with pytest.raises(InvalidPath):
        router.resolve("GET", raw_path)


# ---- WebSocketRouter --------------------------------------------------------------------------


def test_websocket_router() -> None:
    router = WebSocketRouter()
    room = router.add("/ws/{room}", ws_handler, name="room")
    lobby = router.add("/ws/lobby", ws_handler)
    assert room.methods == frozenset()
    assert room.call is ws_handler
    assert router.resolve(b"/ws/lobby") == (lobby, {})
    assert router.resolve(b"/ws/kitchen") == (room, {"room": "kitchen"})
    assert router.resolve(b"/ws/") is None
    assert router.resolve(b"ws/lobby") is None
    assert router.url_for("room", room="a b") == "/ws/a%20b"
    assert list(router) == [room, lobby]
    assert len(router) == 2
    with pytest.raises(InvalidPath):
        router.resolve(b"/ws/%zz")


def test_websocket_router_conflicts_and_names() -> None:
    router = WebSocketRouter()
    router.add("/ws/{room}", ws_handler, name="room")
    with pytest.raises(ValueError, match=r"'/ws/\{other\}'.*'/ws/\{room\}'"):
        router.add("/ws/{other}", ws_handler)
    with pytest.raises(ValueError, match="'room'"):
        router.add("/other", ws_handler, name="room")
    with pytest.raises(ValueError, match="unknown type"):
        router.add("/ws/{x:nope}", ws_handler)
    assert len(router) == 1


def test_websocket_router_typed_parameters() -> None:
    router = WebSocketRouter()
    router.add("/ws/{n:int}/{rest:path}", ws_handler)
    found = router.resolve(b"/ws/3/a/b")
    assert found is not None
    assert found[1] == {"n": 3, "rest": "a/b"}
