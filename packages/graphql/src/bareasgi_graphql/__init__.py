"""GraphQL for bareASGI, on graphql-core 3.3.

Use it through the plugin system, `Application(plugins={'graphql': {'schema': ...}})`, or
from code with `add_graphql(app, schema)`, which enables the same plugin; both take the
options of `GraphQLOptions`, and `graphql_state(app)` (or `graphql_state(scope)` in a handler)
returns the `GraphQLState`: its `engine` prepares, executes and subscribes for any transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLSchema

from bareasgi import Application, Scope, plugin_state

from . import plugin
from .engine import (
    MASKED_MESSAGE,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_REQUIRED,
    Context,
    ContextRefused,
    GraphQLEngine,
    Prepared,
)
from .options import GraphQLOptions
from .plugin import PLUGIN_NAME
from .pubsub import LocalPubSub, RedisPubSub
from .sse import GraphQLSse
from .state import GraphQLState
from .trusted import document_hash
from .websocket import GraphQLWebSocketHandler


def graphql_state(target: Application | Scope) -> GraphQLState:
    """The state of the `graphql` plugin on an application, or on the one serving `scope`.

    Raises:
        PluginNotEnabledError: The plugin is not enabled there.
        TypeError: A plugin of another package is enabled under the name `graphql`.
    """
    return plugin_state(target, PLUGIN_NAME, GraphQLState)


def add_graphql(
    app: Application,
    schema: GraphQLSchema | str,
    path: str = "/graphql",
    **options: Any,
) -> GraphQLState:
    """Serve `schema` at `path`: enable the `graphql` plugin from code, with these options.

    `options` are `GraphQLOptions`' other fields (`graphiql`, `max_depth`, `context`, ...).
    Its routes are added as the plugin's always are; clean-up is the plugin's.

    Returns:
        The plugin's state, `graphql_state(app)`.

    Raises:
        PluginOptionsError: listing every problem with the options.
        RuntimeError: when the application has already started.
        PluginError: when the `graphql` plugin is already enabled on `app`.
    """
    values: Mapping[str, Any] = {"schema": schema, "path": path, **options}
    app.plugins.enable(plugin, values)
    return graphql_state(app)


__all__ = [
    "MASKED_MESSAGE",
    "PERSISTED_QUERY_NOT_FOUND",
    "PERSISTED_QUERY_REQUIRED",
    "PLUGIN_NAME",
    "Context",
    "ContextRefused",
    "GraphQLEngine",
    "GraphQLOptions",
    "GraphQLSse",
    "GraphQLState",
    "GraphQLWebSocketHandler",
    "LocalPubSub",
    "Prepared",
    "RedisPubSub",
    "add_graphql",
    "document_hash",
    "graphql_state",
]
