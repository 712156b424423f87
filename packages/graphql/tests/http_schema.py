"""The schema the HTTP tests serve (also by 'http_schema:schema' through the plugin system)."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import GraphQLResolveInfo, build_schema

schema = build_schema(
    """
    type Query {
      hello: String!
      greet(name: String!): String!
      slowHello: String!
      boom: String
      boomNonNull: String!
      me: String
      node: Node
    }
    type Node { id: ID! child: Node value: Int }
    type Mutation { setMessage(text: String!): String! }
    type Subscription { ticks: Int! }
    """
)

MESSAGES: list[str] = []


class Boom(Exception):
    """A resolver's failure whose message must not reach the client."""


def _boom(info: GraphQLResolveInfo[Any]) -> str:
    raise Boom("secret database password in this message")


async def _slow_hello(info: GraphQLResolveInfo[Any]) -> str:
    await asyncio.sleep(0)
    return "world"


def _me(info: GraphQLResolveInfo[Any]) -> Any:
    return info.context.value


def _set_message(info: GraphQLResolveInfo[Any], text: str) -> str:
    MESSAGES.append(text)
    return text


def _node(depth: int = 0) -> dict[str, Any]:
    return {"id": str(depth), "value": depth, "child": lambda info: _node(depth + 1)}


root_value: dict[str, Any] = {
    "hello": "world",
    "greet": lambda info, name: f"Hello, {name}!",
    "slowHello": _slow_hello,
    "boom": _boom,
    "boomNonNull": _boom,
    "me": _me,
    "node": lambda info: _node(),
    "setMessage": _set_message,
}
