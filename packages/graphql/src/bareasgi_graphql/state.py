"""The plugin's state: the engine and the transports, built once from the options."""

from __future__ import annotations

from typing import final

from bareasgi import RouteSpec, WebSocketRouteSpec

from .engine import GraphQLEngine
from .graphiql import GraphiQLAssets
from .http import GraphQLHttp
from .options import GraphQLOptions


@final
class GraphQLState:
    """What the `graphql` plugin keeps: `graphql_state(app)` returns it.

    Attributes:
        options: The validated options.
        engine: The `GraphQLEngine` every transport shares (prepare, execute, subscribe).
        graphiql: The GraphiQL page and assets, or None when `graphiql` is off.
        http: The endpoint's HTTP handler (GraphQL over HTTP, GraphiQL, and the subscription
            transport over HTTP when one is installed as `http.streams`).
        http_methods: The endpoint route's methods.
        extra_routes: Further routes the transports contribute (e.g. the WebSocket route).
    """

    def __init__(self, options: GraphQLOptions) -> None:
        self.options = options
        self.engine = GraphQLEngine(options)
        self.graphiql = GraphiQLAssets(options.path) if options.graphiql else None
        self.http = GraphQLHttp(
            self.engine, self.graphiql.page_response if self.graphiql is not None else None
        )
        self.http_methods: list[str] = ["GET", "POST"]
        self.extra_routes: list[RouteSpec | WebSocketRouteSpec] = []
        # Subscriptions (WebSocket, SSE) are set up here, after the HTTP transport.


__all__ = ["GraphQLState"]
