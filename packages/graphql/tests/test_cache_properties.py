"""The document cache never changes an answer: a cached prepare equals a fresh one."""

from __future__ import annotations

from typing import Any

from http_schema import root_value, schema
from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi_graphql import GraphQLEngine, GraphQLOptions, Prepared

PIECES = st.sampled_from(
    [
        "hello",
        "a: hello",
        "b: hello",
        "nope",
        'greet(name: "x")',
        "greet(name: $n)",
        "greet",
        "node { id }",
        "node { child { child { value } } }",
        "node { ...N }",
        "...Q",
        "__typename",
        "__schema { queryType { name } }",
        "{",
    ]
)


@st.composite
def documents(draw: Any) -> tuple[str, str | None]:
    operations = []
    for number in range(draw(st.integers(1, 2))):
        body = " ".join(draw(st.lists(PIECES, min_size=1, max_size=4)))
        keyword = draw(st.sampled_from(["query", "mutation", "subscription", ""]))
        name = f"O{number}" if draw(st.booleans()) else ""
        variables = "($n: String!)" if draw(st.booleans()) else ""
        head = f"{keyword} {name}{variables}".strip()
        operations.append(f"{head} {{ {body} }}" if head else f"{{ {body} }}")
    if draw(st.booleans()):
        operations.append("fragment N on Node { id value }")
    if draw(st.booleans()):
        operations.append("fragment Q on Query { hello }")
    name = draw(st.sampled_from([None, "O0", "O1", "X"]))
    return " ".join(operations), name


def outcome(result: Prepared | list[Any]) -> tuple[Any, ...]:
    if isinstance(result, Prepared):
        return ("prepared", result.operation_type, result.operation_name, result.operation)
    return ("errors", [(e.message, e.locations, e.extensions) for e in result])


CACHED = GraphQLEngine(GraphQLOptions(schema=schema, root_value=root_value, max_aliases=1))
FRESH = GraphQLEngine(
    GraphQLOptions(schema=schema, root_value=root_value, max_aliases=1, cache_size=0)
)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_a_cached_answer_is_the_fresh_answer(document: tuple[str, str | None]) -> None:
    text, name = document
    first = CACHED.prepare(text, name)
    again = CACHED.prepare(text, name)
    fresh = FRESH.prepare(text, name)
    # Prepared operations come from the same parse when cached; compare what they say.
    assert outcome(again)[:3] == outcome(first)[:3] == outcome(fresh)[:3]
    if isinstance(again, Prepared):
        assert again is first  # served from the cache, not prepared again
    else:
        assert outcome(again) == outcome(first) == outcome(fresh)
