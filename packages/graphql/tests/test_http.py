"""GraphQL over HTTP in-process: methods, media types, status codes, errors, context."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from http_schema import MESSAGES, root_value, schema

from bareasgi import Application, Info, Scope
from bareasgi.testing import TestClient
from bareasgi_graphql import MASKED_MESSAGE, ContextRefused, add_graphql

GQL = "application/graphql-response+json"
JSON = "application/json"


def make_app(**options: Any) -> Application:
    app = Application(info={"name": "test"})
    options.setdefault("root_value", root_value)
    add_graphql(app, schema, **options)
    return app


async def post(
    client: TestClient, body: Any, accept: str | None = GQL, content_type: str | None = JSON
) -> Any:
    headers = {}
    if accept is not None:
        headers["accept"] = accept
    if content_type is not None:
        headers["content-type"] = content_type
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.http.post("/graphql", content=data, headers=headers)


async def test_post_query_under_each_media_type() -> None:
    async with TestClient(make_app()) as client:
        for accept, media in (
            (GQL, GQL),
            (JSON, JSON),
            ("*/*", JSON),
            (None, JSON),
            ("application/*", JSON),
            (f"{GQL}, {JSON};q=0.9", GQL),
            (f"{JSON}, {GQL}", JSON),  # equal weights: the client's first
            (f"{JSON};q=0.5, {GQL}", GQL),
        ):
            response = await post(client, {"query": "{ hello }"}, accept=accept)
            assert response.status_code == 200, accept
            assert response.headers["content-type"] == f"{media}; charset=utf-8", accept
            assert response.json() == {"data": {"hello": "world"}}


async def test_nothing_acceptable_is_406() -> None:
    async with TestClient(make_app()) as client:
        for accept in ("text/plain", "application/xml", f"{GQL};q=0, {JSON};q=0"):
            response = await post(client, {"query": "{ hello }"}, accept=accept)
            assert response.status_code == 406, accept
            assert not response.headers["content-type"].startswith(GQL)


async def test_get_runs_a_query_with_variables_and_operation_name() -> None:
    async with TestClient(make_app()) as client:
        response = await client.http.get(
            "/graphql",
            params={
                "query": "query A { hello } query B($n: String!) { greet(name: $n) }",
                "operationName": "B",
                "variables": json.dumps({"n": "Ada"}),
                "extensions": "",
            },
            headers={"accept": GQL},
        )
        assert response.status_code == 200
        assert response.json() == {"data": {"greet": "Hello, Ada!"}}
        assert response.headers["vary"] == "accept"


async def test_a_mutation_over_get_is_405_with_allow_post_and_does_not_run() -> None:
    MESSAGES.clear()
    async with TestClient(make_app()) as client:
        for accept in (GQL, JSON):
            response = await client.http.get(
                "/graphql",
                params={"query": 'mutation { setMessage(text: "no") }'},
                headers={"accept": accept},
            )
            assert response.status_code == 405
            assert response.headers["allow"] == "POST"
            assert "POST" in response.json()["errors"][0]["message"]
        assert MESSAGES == []
        response = await post(client, {"query": 'mutation { setMessage(text: "yes") }'})
        assert response.json() == {"data": {"setMessage": "yes"}}
        assert MESSAGES == ["yes"]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",  # what a cross-site form or fetch can send without a preflight
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "application/json; charset=latin-1",
    ],
)
async def test_post_takes_only_json_415_otherwise(content_type: str | None) -> None:
    MESSAGES.clear()
    async with TestClient(make_app()) as client:
        body = {"query": 'mutation { setMessage(text: "csrf") }'}
        response = await post(client, body, content_type=content_type)
        assert response.status_code == 415
        assert MESSAGES == []


async def test_json_with_utf8_charset_is_taken() -> None:
    async with TestClient(make_app()) as client:
        response = await post(
            client,
            {"query": '{ greet(name: "Zoë") }'},
            content_type="application/json; charset=UTF-8",
        )
        assert response.json() == {"data": {"greet": "Hello, Zoë!"}}


@pytest.mark.parametrize(
    "body",
    [
        # (An empty body: in test_http_wire.py; the in-process client sends no http.request
        # message for one.)
        b"NONSENSE",
        b'{"query":',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON decoder can recurse
        b'{"query": "{ hello }", "variables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        json.dumps([{"query": "{ hello }"}]).encode(),  # a batch: batching is off
        b'"{ hello }"',
        json.dumps({"notquery": "{ hello }"}).encode(),
        json.dumps({"query": 0}).encode(),
        json.dumps({"query": ["{ hello }"]}).encode(),
        json.dumps({"query": "{ hello }", "variables": [7]}).encode(),
        json.dumps({"query": "{ hello }", "variables": "{}"}).encode(),
        json.dumps({"query": "{ hello }", "operationName": 3}).encode(),
        json.dumps({"query": "{ hello }", "extensions": "x"}).encode(),
    ],
)
async def test_a_request_that_is_not_well_formed_is_400_under_both(body: bytes) -> None:
    async with TestClient(make_app()) as client:
        for accept in (GQL, JSON):
            response = await post(client, body, accept=accept)
            assert response.status_code == 400
            assert response.headers["content-type"] == f"{JSON}; charset=utf-8"
            assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "variables", "fragment"),
    [
        ("{", None, "Syntax Error"),
        ("{ nope }", None, "Cannot query field 'nope'"),
        ("query ($n: String!) { greet(name: $n) }", {"n": 3}, "$n"),
        ("query ($n: String!) { greet(name: $n) }", None, "$n"),
        ("query A { hello } query B { hello }", None, "operation name"),
        ("fragment F on Query { hello }", None, "never used"),
        ("subscription { ticks }", None, "Subscriptions are served over WebSocket"),
    ],
)
async def test_request_errors_are_400_or_200_by_media_type(
    query: str, variables: Any, fragment: str
) -> None:
    async with TestClient(make_app()) as client:
        for accept, status in ((GQL, 400), (JSON, 200)):
            response = await post(client, {"query": query, "variables": variables}, accept)
            assert response.status_code == status
            body = response.json()
            assert "data" not in body
            assert fragment in body["errors"][0]["message"]


async def test_a_field_error_is_partial_success_and_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "bareasgi_graphql")
    async with TestClient(make_app()) as client:
        response = await post(client, {"query": "query Named { hello boom }"})
        assert response.status_code == 294
        body = response.json()
        assert body["data"] == {"hello": "world", "boom": None}
        assert body["errors"] == [
            {"message": MASKED_MESSAGE, "locations": [{"line": 1, "column": 21}], "path": ["boom"]}
        ]
        assert "secret" not in response.text
        response = await post(client, {"query": "{ boom }"}, accept=JSON)
        assert response.status_code == 200
        # A non-null field's error nulls the data: still a response with data, not a 4xx.
        response = await post(client, {"query": "{ boomNonNull }"})
        assert response.status_code == 294
        assert response.json()["data"] is None
    records = [r for r in caplog.records if r.name == "bareasgi_graphql"]
    assert "'Named'" in records[0].getMessage()
    assert "boom" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert "secret" in str(records[0].exc_info[1])


async def test_masking_can_be_turned_off() -> None:
    async with TestClient(make_app(mask_errors=False)) as client:
        response = await post(client, {"query": "{ boom }"})
        assert "secret database password" in response.json()["errors"][0]["message"]


async def test_async_resolvers_and_context() -> None:
    seen: list[tuple[Scope, Info]] = []

    async def context(scope: Scope, info: Info) -> str:
        seen.append((scope, info))
        user = dict(scope["headers"]).get(b"x-user")
        if user == b"mallory":
            raise ContextRefused("Not you.")
        return user.decode() if user else "anonymous"

    async with TestClient(make_app(context=context)) as client:
        response = await client.http.post(
            "/graphql", json={"query": "{ slowHello me }"}, headers={"x-user": "ada"}
        )
        assert response.json() == {"data": {"slowHello": "world", "me": "ada"}}
        assert seen[0][1] == {"name": "test"}
        assert seen[0][0]["path"] == "/graphql"
        response = await client.http.post(
            "/graphql", json={"query": "{ me }"}, headers={"x-user": "mallory"}
        )
        assert response.status_code == 403
        assert response.json() == {"errors": [{"message": "Not you."}]}


async def test_other_methods_are_405_by_the_router() -> None:
    async with TestClient(make_app()) as client:
        response = await client.http.patch("/graphql", json={"query": "{ hello }"})
        assert response.status_code == 405
        assert "POST" in response.headers["allow"]


async def test_head_answers_like_get_without_a_body() -> None:
    async with TestClient(make_app()) as client:
        response = await client.http.head("/graphql", params={"query": "{ hello }"})
        assert response.status_code == 200
        assert response.content == b""
