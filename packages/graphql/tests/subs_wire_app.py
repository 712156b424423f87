"""The app the wire tests serve with hypercorn: the subscription schema, plus `news` fed by
Redis pub/sub when SUBS_REDIS_URL is set (the several-workers recipe)."""

from __future__ import annotations

import os
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
from subs_schema import schema as base_schema

from bareasgi import Application
from bareasgi_graphql import add_graphql
from bareasgi_graphql.pubsub import RedisPubSub

REDIS_URL = os.environ.get("SUBS_REDIS_URL")
PUBSUB = RedisPubSub(REDIS_URL) if REDIS_URL else None


def _news(_root: Any, _info: Any) -> AsyncIterator[Any]:
    assert PUBSUB is not None
    return PUBSUB.subscribe("news")


async def _publish(_root: Any, _info: Any, text: str) -> int:
    assert PUBSUB is not None
    await PUBSUB.publish("news", {"text": text, "pid": os.getpid()})
    return os.getpid()


def _extend(schema: GraphQLSchema) -> GraphQLSchema:
    query, subscription = schema.query_type, schema.subscription_type
    assert query is not None
    assert subscription is not None
    return GraphQLSchema(
        query=query,
        mutation=GraphQLObjectType(
            "Mutation",
            {
                "publish": GraphQLField(
                    GraphQLInt,
                    args={"text": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                    resolve=_publish,
                )
            },
        ),
        subscription=GraphQLObjectType(
            "Subscription",
            {
                **subscription.fields,
                "news": GraphQLField(
                    GraphQLString,
                    subscribe=_news,
                    resolve=lambda item, _info: f"{item['text']} from {item['pid']}",
                ),
            },
        ),
    )


app = Application()
add_graphql(app, _extend(base_schema), sse_keep_alive=None)


@app.on_shutdown
async def _close_redis(*_: Any) -> None:
    if PUBSUB is not None:
        await PUBSUB.aclose()
