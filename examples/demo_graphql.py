"""The demo's GraphQL schema: a query, a mutation and a ticking subscription.

Served at /graphql by the demo's `graphql` plugin (`"schema": "demo_graphql:schema"`); open
http://127.0.0.1:9009/graphql in a browser for GraphiQL, and try

    query { hello(name: "World") messages }
    mutation { addMessage(text: "hi") }
    subscription { ticks(count: 5, interval: 1) }

Subscriptions run from GraphiQL over WebSocket (graphql-transport-ws), and over Server-Sent
Events (graphql-sse) from any HTTP client:

    curl -N http://127.0.0.1:9009/graphql -H 'accept: text/event-stream'
         -H 'content-type: application/json'
         -d '{"query": "subscription { ticks(count: 5, interval: 1) }"}'

(one command, on one line).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
)

MESSAGES: list[str] = ["Hello from bareASGI"]
"""The messages the mutation adds to (in memory: one per worker)."""


def hello(root: Any, info: GraphQLResolveInfo[Any], name: str = "World") -> str:
    return f"Hello, {name}!"


def messages(root: Any, info: GraphQLResolveInfo[Any]) -> list[str]:
    return list(MESSAGES)


def add_message(root: Any, info: GraphQLResolveInfo[Any], text: str) -> list[str]:
    MESSAGES.append(text)
    return list(MESSAGES)


async def ticks(
    root: Any, info: GraphQLResolveInfo[Any], count: int = 10, interval: float = 1.0
) -> AsyncIterator[int]:
    """Counts 1..count, one a `interval` seconds (at most 100, at least 0.05 s apart)."""
    for tick in range(1, min(count, 100) + 1):
        await asyncio.sleep(max(interval, 0.05))
        yield tick


schema = GraphQLSchema(
    query=GraphQLObjectType(
        "Query",
        {
            "hello": GraphQLField(
                GraphQLNonNull(GraphQLString),
                args={"name": GraphQLArgument(GraphQLString, default_value="World")},
                resolve=hello,
            ),
            "messages": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString))), resolve=messages
            ),
        },
    ),
    mutation=GraphQLObjectType(
        "Mutation",
        {
            "addMessage": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString))),
                args={"text": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                resolve=add_message,
            )
        },
    ),
    subscription=GraphQLObjectType(
        "Subscription",
        {
            "ticks": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={
                    "count": GraphQLArgument(GraphQLInt, default_value=10),
                    "interval": GraphQLArgument(GraphQLFloat, default_value=1.0),
                },
                subscribe=ticks,
                resolve=lambda tick, info, **args: tick,
            )
        },
    ),
)
