"""The app the GraphiQL browser test serves with hypercorn: a query and a subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from bareasgi import Application
from bareasgi_graphql import add_graphql


async def _count(root: Any, info: Any, to: int) -> AsyncIterator[int]:
    for number in range(1, to + 1):
        await asyncio.sleep(0.05)
        yield number


schema = GraphQLSchema(
    query=GraphQLObjectType(
        "Query",
        {"hello": GraphQLField(GraphQLNonNull(GraphQLString), resolve=lambda root, info: "world")},
    ),
    subscription=GraphQLObjectType(
        "Subscription",
        {
            "count": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"to": GraphQLArgument(GraphQLNonNull(GraphQLInt))},
                subscribe=_count,
                resolve=lambda number, info, **args: number,
            )
        },
    ),
)

app = Application()
add_graphql(app, schema)
