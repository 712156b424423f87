"""Limits, the document cache and trusted documents, in the engine and over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import graphql
import pytest
from graphql import get_introspection_query
from http_schema import root_value, schema

from bareasgi import Application
from bareasgi.testing import TestClient
from bareasgi_graphql import (
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_REQUIRED,
    GraphQLEngine,
    GraphQLOptions,
    Prepared,
    add_graphql,
    document_hash,
)
from bareasgi_graphql import engine as engine_module

GQL = "application/graphql-response+json"


def engine(**options: Any) -> GraphQLEngine:
    return GraphQLEngine(GraphQLOptions(schema=schema, root_value=root_value, **options))


def messages(result: Prepared | list[graphql.GraphQLError]) -> list[str]:
    assert isinstance(result, list), result
    return [error.message for error in result]


def nested(depth: int) -> str:
    return "{ node " + "{ child " * (depth - 2) + "{ id }" + " }" * (depth - 2) + " }"


def test_depth_counts_every_field_and_fragments_where_spread() -> None:
    e = engine(max_depth=3)
    assert isinstance(e.prepare(nested(3)), Prepared)
    assert "option max_depth" in messages(e.prepare(nested(4)))[0]
    spread = "fragment F on Node { child { id } } { node { ...F } }"
    assert isinstance(e.prepare(spread), Prepared)
    deeper = "fragment F on Node { child { child { id } } } { node { ...F } }"
    assert "option max_depth" in messages(e.prepare(deeper))[0]
    inline = "{ node { ... on Node { child { child { id } } } } }"
    assert "option max_depth" in messages(e.prepare(inline))[0]
    # Introspection fields count too.
    assert (
        "option max_depth" in messages(e.prepare("{ __schema { types { fields { name } } } }"))[0]
    )


def test_the_default_depth_lets_the_full_introspection_query_through() -> None:
    e = engine()
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    assert isinstance(e.prepare(query), Prepared)
    assert isinstance(e.prepare(nested(15)), Prepared)
    assert messages(e.prepare(nested(16)))[0].endswith("(option max_depth).")


def test_a_query_nested_1000_deep_names_the_depth_limit() -> None:
    e = engine()
    errors = e.prepare(nested(1000))
    assert isinstance(errors, list)
    assert "option max_depth" in errors[0].message
    assert errors[0].extensions == {"code": "MAX_DEPTH_EXCEEDED"}
    braces = "{" * 1000 + "}" * 1000
    assert isinstance(e.prepare(braces), list)


def test_aliases_root_fields_tokens_and_size() -> None:
    e = engine()
    aliases = "{ " + " ".join(f"a{i}: hello" for i in range(31)) + " }"
    assert "option max_aliases" in messages(e.prepare(aliases))[0]
    assert isinstance(engine(max_aliases=None).prepare(aliases), Prepared)
    root = "{ " + " ".join(["hello"] * 51) + " }"
    assert "option max_root_fields" in messages(e.prepare(root))[0]
    via_fragment = "fragment F on Query { " + " ".join(["hello"] * 51) + " } { ...F }"
    assert "option max_root_fields" in messages(e.prepare(via_fragment))[0]
    ten_thousand = "{ " + " ".join(f"a{i}: hello" for i in range(10_000)) + " }"
    assert "option max_document_size" in messages(e.prepare(ten_thousand))[0]
    unbounded_size = engine(max_document_size=None)
    assert "option max_tokens" in messages(unbounded_size.prepare(ten_thousand))[0]
    no_tokens = engine(max_document_size=None, max_tokens=None)
    assert any("option max_aliases" in m for m in messages(no_tokens.prepare(ten_thousand)))
    mib = "{ hello }" + "#" * (1024 * 1024)
    error = e.prepare(mib)
    assert isinstance(error, list)
    assert "option max_document_size" in error[0].message
    assert error[0].extensions == {"code": "DOCUMENT_TOO_LARGE"}
    # Multi-byte characters count as the bytes they are.
    assert (
        "option max_document_size"
        in messages(engine(max_document_size=20).prepare("{ hello } #ééééééé"))[0]
    )
    assert e.cached < 10  # nothing over the size limit was kept


def test_introspection_can_be_turned_off() -> None:
    assert (
        "introspection"
        in messages(engine(introspection=False).prepare("{ __schema { types { name } } }"))[0]
    )
    assert isinstance(engine(introspection=False).prepare("{ hello __typename }"), Prepared)


def test_a_repeated_document_is_neither_parsed_nor_validated_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real_parse, real_validate = graphql.parse, graphql.validate

    def parse(source: str, **kwargs: Any) -> Any:
        calls.append("parse")
        return real_parse(source, **kwargs)

    def validate(*args: Any, **kwargs: Any) -> Any:
        calls.append("validate")
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(engine_module, "parse", parse)
    monkeypatch.setattr(engine_module, "validate", validate)
    e = engine()
    first = e.prepare('query A { hello } query B { greet(name: "x") }', "A")
    assert calls == ["parse", "validate"]
    assert e.prepare('query A { hello } query B { greet(name: "x") }', "A") is first
    assert isinstance(e.prepare('query A { hello } query B { greet(name: "x") }', "B"), Prepared)
    assert e.prepare("{ nope }") == e.prepare("{ nope }")  # invalid documents are kept too
    assert calls == ["parse", "validate", "parse", "validate"]


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    e = engine(cache_size=3)
    for number in range(5):
        e.prepare(f"query Q{number} {{ hello }}")
    assert e.cached == 3
    kept = e.prepare("query Q4 { hello }")
    e.prepare("query Q5 { hello }")
    assert e.prepare("query Q4 { hello }") is kept
    assert engine(cache_size=0).prepare("{ hello }") is not None


def manifest_file(tmp_path: Path, *documents: str) -> str:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({document_hash(d): d for d in documents}))
    return str(path)


async def test_trusted_documents_by_hash_or_document_id(tmp_path: Path) -> None:
    known = "query Hello { hello }"
    digest = document_hash(known)
    app = Application()
    add_graphql(
        app, schema, root_value=root_value, trusted_documents=manifest_file(tmp_path, known)
    )
    async with TestClient(app) as client:
        for body in (
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
            {"documentId": f"sha256:{digest}"},
        ):
            response = await client.http.post("/graphql", json=body, headers={"accept": GQL})
            assert response.json() == {"data": {"hello": "world"}}, body
        for accept, status in ((GQL, 400), ("application/json", 200)):
            response = await client.http.post(
                "/graphql",
                json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
                headers={"accept": accept},
            )
            assert response.status_code == status
            assert response.json()["errors"][0]["extensions"] == {"code": PERSISTED_QUERY_NOT_FOUND}
        # Not enforced: document text still runs.
        response = await client.http.post("/graphql", json={"query": '{ greet(name: "x") }'})
        assert response.json() == {"data": {"greet": "Hello, x!"}}
        response = await client.http.get("/graphql", params={"documentId": f"sha256:{digest}"})
        assert response.json() == {"data": {"hello": "world"}}


async def test_enforced_trusted_documents_refuse_text(tmp_path: Path) -> None:
    known = "{ hello }"
    app = Application()
    add_graphql(
        app,
        schema,
        root_value=root_value,
        trusted_documents={document_hash(known): known},
        require_trusted_documents=True,
    )
    async with TestClient(app) as client:
        for accept, status in ((GQL, 400), ("application/json", 200)):
            response = await client.http.post(
                "/graphql", json={"query": known}, headers={"accept": accept}
            )
            assert response.status_code == status
            assert response.json()["errors"][0]["extensions"] == {"code": PERSISTED_QUERY_REQUIRED}
        response = await client.http.post(
            "/graphql", json={"documentId": f"sha256:{document_hash(known)}"}
        )
        assert response.json() == {"data": {"hello": "world"}}


def test_a_manifest_that_lies_about_its_hashes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"0" * 64: "{ hello }"}))
    problems = GraphQLOptions(schema=schema, trusted_documents=str(path)).problems()
    assert "not their document's sha256" in problems[0]
    assert (
        "cannot read"
        in GraphQLOptions(schema=schema, trusted_documents=str(tmp_path / "none")).problems()[0]
    )
    assert GraphQLOptions(schema=schema, require_trusted_documents=True).problems()


async def test_limits_over_http_are_request_errors() -> None:
    app = Application()
    add_graphql(app, schema, root_value=root_value)
    async with TestClient(app) as client:
        response = await client.http.post(
            "/graphql", json={"query": nested(1000)}, headers={"accept": GQL}
        )
        assert response.status_code == 400
        assert "option max_depth" in response.json()["errors"][0]["message"]
        document = "{ hello }" + " " * (1024 * 1024)
        response = await client.http.post(
            "/graphql", json={"query": document}, headers={"accept": GQL}
        )
        assert response.status_code == 400
        assert "option max_document_size" in response.json()["errors"][0]["message"]
        aliases = "{ " + " ".join(f"a{i}: hello" for i in range(10_000)) + " }"
        response = await client.http.post(
            "/graphql", json={"query": aliases}, headers={"accept": GQL}
        )
        assert response.status_code == 400
        assert "(option max_" in response.json()["errors"][0]["message"]
        # A body over the application's limit is 413 from core, before any parsing.
        body = json.dumps({"query": "{ hello }" + " " * (11 * 1024 * 1024)}).encode()
        response = await client.http.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
