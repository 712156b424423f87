"""Query parameters (bareasgi.query): decoding, typed values, limits, paths with a query."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import (
    QUERY_KEY,
    Application,
    Content,
    HttpError,
    HttpResponse,
    Info,
    Matches,
    Scope,
    json_response,
    query_params,
    query_value,
    query_values,
    url_with_query,
)
from bareasgi.query import encode_query
from bareasgi.testing import TestClient


def scope_for(query: bytes) -> Scope:
    return {"type": "http", "query_string": query, "headers": []}


def test_parameters_decoded_as_urlencoded_with_repeated_keys() -> None:
    params = query_params(scope_for(b"a=1&b=x+y&a=2&c=%C3%A9&d&&e="))
    assert params == {"a": ["1", "2"], "b": ["x y"], "c": ["é"], "d": [""], "e": [""]}


def test_stray_percent_is_kept_literally() -> None:
    params = query_params(scope_for(b"q=100%&r=%zz%4&s=%%41&%=%"))
    assert params == {"q": ["100%"], "r": ["%zz%4"], "s": ["%A"], "%": ["%"]}


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert query_params(scope_for(b"q=%FF%FE"))["q"] == ["\ufffd\ufffd"]


def test_empty_and_missing_query_string() -> None:
    assert query_params(scope_for(b"")) == {}
    assert query_params({"type": "http", "headers": []}) == {}


def test_parsed_once_per_request() -> None:
    scope = scope_for(b"a=1")
    first = query_params(scope)
    assert scope[QUERY_KEY][1] is first
    assert query_params(scope) is first


def test_a_changed_query_string_is_parsed_again() -> None:
    scope = scope_for(b"a=1")
    query_params(scope)
    scope["query_string"] = b"a=2"
    assert query_value(scope, "a") == "2"


def test_typed_values() -> None:
    scope = scope_for(b"n=-12&f=2.5&e=1e3&t=TRUE&y=yes&o=off&z=0&s=hi&n=99")
    assert query_value(scope, "n", int) == -12  # the first of a repeated name
    assert query_values(scope, "n", int) == [-12, 99]
    assert query_value(scope, "f", float) == 2.5
    assert query_value(scope, "e", float) == 1000.0
    assert query_value(scope, "t", bool) is True
    assert query_value(scope, "y", bool) is True
    assert query_value(scope, "o", bool) is False
    assert query_value(scope, "z", bool) is False
    assert query_value(scope, "s") == "hi"
    assert query_value(scope, "missing", int, default=None) is None
    assert query_value(scope, "missing", default="x") == "x"
    assert query_values(scope, "missing") == []


@pytest.mark.parametrize(
    ("query", "kind", "message"),
    [
        (b"p=x", int, "Query parameter 'p' must be an integer"),
        (b"p=1.5", int, "Query parameter 'p' must be an integer"),
        (b"p=%D9%A3", int, "Query parameter 'p' must be an integer"),  # an Arabic-Indic 3
        (b"p=1_000", int, "Query parameter 'p' must be an integer"),
        (b"p=", int, "Query parameter 'p' must be an integer"),
        (b"p=nan", float, "Query parameter 'p' must be a number"),
        (b"p=inf", float, "Query parameter 'p' must be a number"),
        (b"p=1e999", float, "Query parameter 'p' must be a number"),
        (b"p=maybe", bool, "Query parameter 'p' must be true or false"),
        (b"q=1", int, "Missing query parameter 'p'"),
    ],
)
def test_bad_values_answer_400_naming_the_parameter(
    query: bytes, kind: type[Any], message: str
) -> None:
    with pytest.raises(HttpError) as raised:
        query_value(scope_for(query), "p", kind)
    assert raised.value.status == 400
    assert raised.value.body == message.encode()


def test_an_unsupported_kind_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        query_value(scope_for(b"p=1"), "p", list)  # type: ignore[type-var]


def test_100000_fields_answer_400() -> None:
    query = b"&".join(b"f%d=%d" % (i, i) for i in range(100_000))
    with pytest.raises(HttpError) as raised:
        query_params(scope_for(query))
    assert raised.value.status == 400
    assert raised.value.body == b"More than 1000 fields in the query string"


def test_the_field_bound_counts_fields_not_separators() -> None:
    assert len(query_params(scope_for(b"&" * 5000 + b"a=1"))) == 1
    query = b"&".join([b"x=1"] * 1000)
    assert len(query_params(scope_for(query))["x"]) == 1000
    with pytest.raises(HttpError):
        query_params(scope_for(query + b"&y=2"))
    assert len(query_params(scope_for(query + b"&y=2"), max_fields=1001)) == 2


def test_a_lower_bound_holds_on_a_query_parsed_before() -> None:
    scope = scope_for(b"a=1&b=2&c=3")
    assert len(query_params(scope)) == 3
    with pytest.raises(HttpError):
        query_params(scope, max_fields=2)


@given(st.dictionaries(st.text(min_size=1), st.lists(st.text(), min_size=1, max_size=3)))
def test_encode_query_round_trips(params: dict[str, list[str]]) -> None:
    encoded = encode_query(params).encode()
    assert query_params(scope_for(encoded), max_fields=10_000) == params


async def test_in_a_handler_a_bad_value_is_a_400_answer() -> None:
    app = Application()

    @app.on_http_request({"GET"}, "/items")
    async def items(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        page = query_value(scope, "page", int, default=1)
        tags = query_values(scope, "tag")
        return json_response({"page": page, "tags": tags})

    async with TestClient(app) as client:
        good = await client.get("/items?page=2&tag=a&tag=b%20c")
        bad = await client.get("/items?page=two")
        many = await client.get("/items?" + "&".join(f"t{i}=1" for i in range(1001)))
    assert good.json() == {"page": 2, "tags": ["a", "b c"]}
    assert (bad.status_code, bad.text) == (400, "Query parameter 'page' must be an integer")
    assert many.status_code == 400


def test_url_with_query_keeps_a_route_parameter_named_query() -> None:
    app = Application()

    async def search(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 204

    app.http_router.add({"GET"}, "/search/{query}", search, name="search")
    url = url_with_query(
        app, "search", {"query": "a/b c"}, {"page": 2, "tag": ["x", "y&z"], "ok": True, "no": None}
    )
    assert url == "/search/a%2Fb%20c?page=2&tag=x&tag=y%26z&ok=true"
    assert url_with_query(app, "search", {"query": "q"}) == "/search/q"
    assert url_with_query(app, "search", {"query": "q"}, {}) == "/search/q"
    assert (
        url_with_query(app, "search", {"query": "q"}, [("a", 1), ("a", 2)]) == "/search/q?a=1&a=2"
    )
    with pytest.raises(KeyError):
        url_with_query(app, "search")


async def test_url_with_query_from_a_scope() -> None:
    app = Application()

    @app.on_http_request({"GET"}, "/here", name="here")
    async def here(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return json_response(url_with_query(scope, "here", None, {"next": "/a?b=c"}))

    async with TestClient(app) as client:
        response = await client.get("/here")
    assert response.json() == "/here?next=%2Fa%3Fb%3Dc"


@given(st.text(alphabet="ab=&%+2F6é ", max_size=40))
def test_agrees_with_the_standard_library(text: str) -> None:
    """urllib's parse_qsl reads application/x-www-form-urlencoded the same way."""
    expected: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        expected.setdefault(name, []).append(value)
    assert query_params(scope_for(text.encode()), max_fields=10_000) == expected
