"""JSON in and out (bareasgi.jsonbody): media types, malformed and deep bodies, limits, and
JSON error bodies under a prefix."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bareasgi import (
    Application,
    Content,
    HttpError,
    HttpResponse,
    Info,
    Matches,
    Scope,
    json_errors,
    json_response,
    read_json,
)
from bareasgi.jsonbody import is_json, json_depth_exceeds
from bareasgi.testing import TestClient


def echo_app(**options: Any) -> Application:
    app = Application(**options)

    @app.on_http_request({"POST"}, "/echo")
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return json_response(await read_json(scope, content), 201)

    @app.on_http_request({"POST"}, "/shallow")
    async def shallow(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return json_response(await read_json(scope, content, max_depth=2))

    @app.on_http_request({"POST"}, "/unbounded")
    async def unbounded(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        await read_json(scope, content, max_depth=None)
        return 204

    return app


async def post(app: Application, path: str, body: bytes, content_type: str | None) -> Any:
    headers = {"content-type": content_type} if content_type is not None else {}
    async with TestClient(app) as client:
        return await client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON ;charset=UTF-8",
        "application/problem+json",
        "application/vnd.api+json; ext=bulk",
    ],
)
async def test_json_media_types_are_read(content_type: str) -> None:
    response = await post(echo_app(), "/echo", b'{"a": [1, 2.5, "\xc3\xa9"]}', content_type)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"a": [1, 2.5, "é"]}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/jsonx", "application/x-www-form-urlencoded", "json"],
)
async def test_other_media_types_answer_415(content_type: str | None) -> None:
    response = await post(echo_app(), "/echo", b"{}", content_type)
    assert response.status_code == 415
    assert "JSON expected" in response.text


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{bad", "line 1 column 2 (char 1)"),
        (b'{"a": 1,\n "b": }', "line 2 column 7 (char 15)"),
        (b"[1] [2]", "Extra data"),
        (b'"\xff"', "not UTF-8 text (byte 1)"),
        (b"[NaN]", "NaN is not a JSON value"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON value"),
        (b"nul", "Expecting value: line 1 column 1 (char 0)"),
    ],
)
async def test_malformed_json_answers_400_naming_the_position(body: bytes, detail: str) -> None:
    response = await post(echo_app(), "/echo", body, "application/json")
    assert response.status_code == 400
    assert response.text.startswith("Invalid JSON: ")
    assert detail in response.text


async def test_an_empty_body_is_malformed() -> None:
    async def nothing() -> AsyncIterator[bytes]:
        chunks: list[bytes] = []
        for chunk in chunks:
            yield chunk

    scope = {"type": "http", "headers": [(b"content-type", b"application/json")]}
    with pytest.raises(HttpError) as raised:
        await read_json(scope, nothing())
    assert raised.value.status == 400
    assert raised.value.body == b"Invalid JSON: Expecting value: line 1 column 1 (char 0)"


async def test_1000_nested_arrays_answer_400() -> None:
    response = await post(echo_app(), "/echo", b"[" * 1000 + b"]" * 1000, "application/json")
    assert response.status_code == 400
    assert response.text == "Invalid JSON: nested deeper than 512 levels"


async def test_nesting_up_to_the_bound_is_read() -> None:
    body = b"[" * 512 + b"]" * 512
    response = await post(echo_app(), "/echo", body, "application/json")
    assert response.status_code == 201


async def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"text": "[" * 2000 + '\\"{' * 100, "list": [[1]] * 600}).encode()
    response = await post(echo_app(), "/echo", body, "application/json")
    assert response.status_code == 201
    assert response.json()["text"] == "[" * 2000 + '\\"{' * 100


async def test_a_settable_bound() -> None:
    app = echo_app()
    assert (await post(app, "/shallow", b"[[1]]", "application/json")).status_code == 200
    refused = await post(app, "/shallow", b'[[{"a": 1}]]', "application/json")
    assert refused.status_code == 400


async def test_nesting_that_exhausts_recursion_is_400_not_500() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await post(echo_app(), "/unbounded", body, "application/json")
    assert response.status_code == 400
    assert response.text == "Invalid JSON: nested too deeply"


async def test_the_body_limit_holds() -> None:
    app = echo_app(max_body_size=1000)
    body = json.dumps(["x" * 100] * 20).encode()
    response = await post(app, "/echo", body, "application/json")
    assert response.status_code == 413


@given(
    st.recursive(
        st.integers() | st.text(), lambda inner: st.lists(inner, max_size=3), max_leaves=30
    )
)
def test_depth_check_agrees_with_the_parsed_value(value: Any) -> None:
    def depth(item: Any) -> int:
        return 1 + max(map(depth, item), default=0) if isinstance(item, list) else 0

    data = json.dumps(value).encode()
    for bound in range(6):
        assert json_depth_exceeds(data, bound) == (depth(value) > bound)


def test_is_json() -> None:
    assert is_json(b"application/json")
    assert is_json(b"application/ld+json; profile=x")
    assert not is_json(None)
    assert not is_json(b"+json")
    assert not is_json(b"application/json5")


def test_json_response_shape() -> None:
    status, headers, body = json_response({"a": "é", "b": [1, None]}, 202, [(b"x-a", b"1")])
    assert status == 202
    assert headers == [(b"content-type", b"application/json"), (b"x-a", b"1")]
    assert body == b'{"a":"\\u00e9","b":[1,null]}'
    first, second = json_response(1), json_response(1)
    assert first[1] is not second[1]  # never a shared header list
    with pytest.raises(ValueError):
        json_response(float("nan"))


# ---- JSON errors under a prefix --------------------------------------------------------------


def api_app() -> Application:
    app = Application(middlewares=[json_errors("/api")])

    @app.on_http_request({"GET"}, "/api/items/{id:int}")
    async def item(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        if matches["id"] == 0:
            raise HttpError(404, "No item 0")
        if matches["id"] == 1:
            raise RuntimeError("secret internals")
        if matches["id"] == 2:
            return 409, [(b"content-type", b"text/plain"), (b"x-kept", b"1")], b"Conflict here"
        if matches["id"] == 3:
            raise HttpError(418)
        return json_response({"id": matches["id"]})

    @app.on_http_request({"POST"}, "/api/echo")
    async def echo(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return json_response(await read_json(scope, content))

    @app.on_http_request({"GET"}, "/page")
    async def page(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        raise HttpError(403, "Not for you")

    return app


async def test_errors_under_the_prefix_are_problem_json(caplog: pytest.LogCaptureFixture) -> None:
    async with TestClient(api_app()) as client:
        missing_item = await client.get("/api/items/0")
        crashed = await client.get("/api/items/1")
        conflict = await client.get("/api/items/2")
        teapot = await client.get("/api/items/3")
        fine = await client.get("/api/items/7")
        no_route = await client.get("/api/nothing")
        wrong_method = await client.delete("/api/items/7")
        bad_json = await client.post(
            "/api/echo", content=b"{", headers={"content-type": "application/json"}
        )
        elsewhere = await client.get("/page")
        outside_404 = await client.get("/apis")

    def problem(response: Any) -> Any:
        assert response.headers["content-type"] == "application/problem+json"
        return response.json()

    assert missing_item.status_code == 404
    assert problem(missing_item) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No item 0",
    }
    assert crashed.status_code == 500
    assert problem(crashed) == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
    }
    assert "secret" not in crashed.text
    assert any(record.exc_info for record in caplog.records if record.levelno == logging.ERROR)
    assert problem(conflict)["detail"] == "Conflict here"
    assert conflict.headers["x-kept"] == "1"
    assert problem(teapot) == {"type": "about:blank", "title": "I'm a Teapot", "status": 418}
    assert fine.json() == {"id": 7}
    assert problem(no_route)["status"] == 404
    assert wrong_method.status_code == 405
    assert problem(wrong_method)["title"] == "Method Not Allowed"
    assert "GET" in wrong_method.headers["allow"]
    assert problem(bad_json)["detail"].startswith("Invalid JSON: ")
    assert (elsewhere.status_code, elsewhere.headers["content-type"]) == (
        403,
        "text/plain; charset=utf-8",
    )
    assert elsewhere.text == "Not for you"
    assert outside_404.headers["content-type"].startswith("text/plain")


def test_json_errors_prefix_must_be_a_path() -> None:
    with pytest.raises(ValueError):
        json_errors("api")
