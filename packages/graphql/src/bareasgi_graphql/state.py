"""The plugin's state: the engine and the transports, built once from the options."""

from __future__ import annotations

from typing import final

from bareasgi import RouteSpec, WebSocketRouteSpec

from .engine import GraphQLEngine
from .graphiql import GraphiQLAssets
from .http import GraphQLHttp
from .options import GraphQLOptions
from .sse import GraphQLSse
from .websocket import GraphQLWebSocketHandler


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
        websocket: The graphql-transport-ws handler at `path`, or None when `websocket` is off.
        sse: The graphql-sse transport (`http.streams`), or None when `sse` is off.
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
        self.websocket: GraphQLWebSocketHandler | None = None
        if options.websocket:
            self.websocket = GraphQLWebSocketHandler(
                self.engine,
                connection_init_timeout=options.connection_init_timeout,
                max_subscriptions=options.max_subscriptions,
            )
            self.extra_routes.append(
                WebSocketRouteSpec(options.path, self.websocket, name="graphql_ws")
            )
        self.sse: GraphQLSse | None = None
        if options.sse:
            self.sse = GraphQLSse(
                self.engine,
                keep_alive=options.sse_keep_alive,
                max_subscriptions=options.max_subscriptions,
                reservation_timeout=options.sse_reservation_timeout,
            )
            self.http.streams = self.sse
            self.http_methods.extend(("PUT", "DELETE"))


__all__ = ["GraphQLState"]
