"""The fast paths never change an answer: a cached prepare equals a fresh one, the limits as
graphql-core rules find what the engine's direct checks find, and the rules that resolve their
handlers once per class find what graphql-core's own find."""

from __future__ import annotations

from typing import Any

import graphql
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from http_schema import root_value, schema
from hypothesis import given, settings
from hypothesis import strategies as st

from bareasgi_graphql import GraphQLEngine, GraphQLOptions, Prepared
from bareasgi_graphql.limits import aliases_rule, depth_rule, limits_rule, root_fields_rule
from bareasgi_graphql.rules import fast_rules

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


@settings(max_examples=200, deadline=None)
@given(documents(), st.integers(1, 4), st.integers(0, 2), st.integers(1, 3))
def test_the_limits_rule_finds_what_the_engine_finds(
    document: tuple[str, str | None], depth: int, aliases: int, root_fields: int
) -> None:
    try:
        parsed = graphql.parse(document[0])
    except graphql.GraphQLError:
        return
    engine = GraphQLEngine(
        GraphQLOptions(
            schema=schema, max_depth=depth, max_aliases=aliases, max_root_fields=root_fields
        )
    )
    rule = limits_rule(depth, aliases, root_fields)
    by_rule = [(e.message, e.extensions) for e in graphql.validate(schema, parsed, [rule])]
    by_engine = [(e.message, e.extensions) for e in engine._limit_errors(parsed)]
    assert by_rule == by_engine
    singles = [depth_rule(depth), aliases_rule(aliases), root_fields_rule(root_fields)]
    by_singles = [(e.message, e.extensions) for e in graphql.validate(schema, parsed, singles)]
    assert sorted(by_singles, key=str) == sorted(by_engine, key=str)


INTROSPECTION_OFF: list[type[ASTValidationRule]] = [
    *graphql.specified_rules,
    NoSchemaIntrospectionCustomRule,
]
FAST = fast_rules(INTROSPECTION_OFF)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_fast_rules_find_what_graphql_cores_rules_find(document: tuple[str, str | None]) -> None:
    try:
        parsed = graphql.parse(document[0])
    except graphql.GraphQLError:
        return
    plain = graphql.validate(schema, parsed, INTROSPECTION_OFF)
    fast = graphql.validate(schema, parsed, FAST)
    assert [(e.message, e.locations) for e in fast] == [(e.message, e.locations) for e in plain]


def test_fast_rules_keep_the_rules_classes_and_names() -> None:
    for rule, wrapped in zip(INTROSPECTION_OFF, FAST, strict=True):
        assert issubclass(wrapped, rule)
        assert wrapped.__name__ == rule.__name__


def test_the_engine_validates_with_the_fast_rules() -> None:
    rules = GraphQLEngine(GraphQLOptions(schema=schema, introspection=False)).rules
    assert len(rules) == len(INTROSPECTION_OFF)
    for rule, used in zip(INTROSPECTION_OFF, rules, strict=True):
        assert issubclass(used, rule)
        assert used.get_enter_leave_for_kind is not rule.get_enter_leave_for_kind
