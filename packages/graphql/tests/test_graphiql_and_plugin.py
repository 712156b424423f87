"""GraphiQL's page and assets in-process; the plugin by name, its options and its state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from http_schema import root_value, schema

from bareasgi import Application, PluginError, PluginNotEnabledError, PluginOptionsError
from bareasgi.testing import TestClient
from bareasgi_graphql import GraphQLState, add_graphql, graphql_state

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
STATIC = Path(__file__).resolve().parents[1] / "src" / "bareasgi_graphql" / "static"


async def test_a_browser_gets_graphiql_and_its_assets_from_the_package() -> None:
    app = Application()
    add_graphql(app, schema, root_value=root_value)
    async with TestClient(app) as client:
        page = await client.http.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "//" not in page.text.replace("<!doctype", "")  # no absolute URL: no CDN
        assets = re.findall(r'(?:src|href)="(graphql/_assets/[^"]+)"', page.text)
        assert len(assets) == 5
        for asset in assets:
            response = await client.http.get("/" + asset)
            assert response.status_code == 200
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            name = asset.split("/")[-1].split("?")[0]
            assert response.content == (STATIC / name).read_bytes()
            again = await client.http.get(
                "/" + asset, headers={"if-none-match": response.headers["etag"]}
            )
            assert again.status_code == 304
        head = await client.http.head("/graphql", headers={"accept": BROWSER_ACCEPT})
        assert head.status_code == 200
        assert head.headers["content-type"] == "text/html; charset=utf-8"
        missing = await client.http.get("/graphql/_assets/nope.js")
        assert missing.status_code == 404
        # A query in the URL with a JSON accept is still GraphQL over HTTP.
        response = await client.http.get(
            "/graphql", params={"query": "{ hello }"}, headers={"accept": "application/json"}
        )
        assert response.json() == {"data": {"hello": "world"}}


async def test_graphiql_can_be_turned_off() -> None:
    app = Application()
    add_graphql(app, schema, root_value=root_value, graphiql=False)
    async with TestClient(app) as client:
        page = await client.http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 406
        page = await client.http.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        assert page.status_code == 400  # */* is JSON: a GraphQL request without a query
        assets = await client.http.get("/graphql/_assets/graphiql.min.js")
        assert assets.status_code == 404


async def test_enabled_by_name_with_a_module_attribute_schema() -> None:
    app = Application(plugins={"graphql": {"schema": "http_schema:schema", "path": "/api/gql"}})
    state = graphql_state(app)
    assert isinstance(state, GraphQLState)
    assert state.engine.schema is schema
    async with TestClient(app) as client:
        response = await client.http.post("/api/gql", json={"query": "{ __typename }"})
        assert response.json() == {"data": {"__typename": "Query"}}


def test_options_problems_are_reported_at_construction() -> None:
    with pytest.raises(PluginOptionsError) as raised:
        Application(
            plugins={
                "graphql": {
                    "schema": "http_schema:nothing",
                    "path": "graphql/",
                    "max_depth": 0,
                    "cache_size": -1,
                    "context": "http_schema:MESSAGES",
                }
            }
        )
    text = str(raised.value)
    for fragment in ("'schema'", "'path'", "'max_depth'", "'cache_size'", "'context'"):
        assert fragment in text
    with pytest.raises(PluginOptionsError, match="is not a graphql-core GraphQLSchema"):
        Application(plugins={"graphql": {"schema": "http_schema:root_value"}})
    with pytest.raises(PluginOptionsError, match="required"):
        Application(plugins={"graphql": {}})


def test_state_accessor_and_enabling_twice() -> None:
    app = Application()
    with pytest.raises(PluginNotEnabledError):
        graphql_state(app)
    state = add_graphql(app, schema)
    assert graphql_state(app) is state
    with pytest.raises(PluginError):
        add_graphql(app, schema, path="/other")
