"""The `graphql` plugin: thin glue between bareASGI's hooks and `GraphQLState`.

Enable it with `Application(plugins={'graphql': {'schema': 'myapp.schema:schema'}})`, or from
code with `bareasgi_graphql.add_graphql(app, schema)`, which enables this very module. It
contributes routes only (no middleware): the endpoint (GET, HEAD, POST) and GraphiQL's assets
under it. Its state is the `GraphQLState`, reached with `bareasgi_graphql.graphql_state(app)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from bareasgi import EnabledPlugin, RouteSpec, WebSocketRouteSpec, hookimpl

from .graphiql import ASSETS_DIR
from .options import GraphQLOptions
from .state import GraphQLState

PLUGIN_NAME: Final = "graphql"
"""The plugin's name: its entry point's, and this module's when it is passed as an object."""

name: Final = PLUGIN_NAME


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return GraphQLOptions


@hookimpl
def bareasgi_check_options(options: GraphQLOptions) -> Iterable[str]:
    return options.problems()


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    plugin.state = GraphQLState(plugin.options)


@hookimpl
def bareasgi_routes(plugin: EnabledPlugin) -> Iterable[RouteSpec | WebSocketRouteSpec]:
    state: GraphQLState = plugin.state
    path = state.options.path
    routes: list[RouteSpec | WebSocketRouteSpec] = [
        RouteSpec(set(state.http_methods), path, state.http, name="graphql")
    ]
    if state.graphiql is not None:
        routes.append(
            RouteSpec(
                {"GET"}, f"{path}/{ASSETS_DIR}/{{name}}", state.graphiql.asset, "graphql_assets"
            )
        )
    routes.extend(state.extra_routes)
    return routes
