"""Limits on a document, as graphql-core validation rules: depth, aliases, root fields.

Each rule does its whole check when the document is entered, with plain loops over the AST,
and then leaves the walk (`BREAK`): graphql-core's visitor machinery costs a rule about as much
per node kind as the work itself, and the engine's hot miss path (a document never seen) pays
for every rule. `limits_rule` puts the three in one rule, for use with graphql-core's
`validate`; the engine calls the same checks (`depth_errors`, `alias_errors`,
`root_field_errors`) directly, before the specification's rules, which a document over a limit
never reaches. Each error names the option that sets the limit and carries an
`extensions.code`. (The parser's token limit bounds how much any check sees.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ValidationRule

DEPTH_CODE: Final = "MAX_DEPTH_EXCEEDED"
ALIASES_CODE: Final = "MAX_ALIASES_EXCEEDED"
ROOT_FIELDS_CODE: Final = "MAX_ROOT_FIELDS_EXCEEDED"

Fragments = Mapping[str, FragmentDefinitionNode]


def _limit_error(message: str, code: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code})


def _label(node: OperationDefinitionNode) -> str:
    name = node.name.value if node.name else None
    return f"operation {name!r}" if name else "the anonymous operation"


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragment definitions by name (the first of a name: the others are the
    specified rules' errors)."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    return fragments


class _Depth:
    """Depths of selection sets, capped: the walk stops one level past the limit, so a
    document nested 1,000 deep costs no more than one at the limit."""

    __slots__ = ("fragments", "known", "limit", "visiting")

    def __init__(self, fragments: Fragments, limit: int) -> None:
        self.fragments = fragments
        self.limit = limit
        self.known: dict[str, int] = {}
        self.visiting: set[str] = set()

    def of(self, selection_set: SelectionSetNode, cap: int) -> int:
        """The depth of `selection_set`, or `cap` when it is `cap` or more."""
        best = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = selection.selection_set
                depth = 1 + (self.of(inner, cap - 1) if inner is not None and cap > 1 else 0)
            elif isinstance(selection, InlineFragmentNode):
                depth = self.of(selection.selection_set, cap)
            elif isinstance(selection, FragmentSpreadNode):
                depth = min(self.fragment(selection.name.value), cap)
            else:  # pragma: no cover - graphql-core has no other selection
                depth = 0
            if depth > best:
                best = depth
                if best >= cap:
                    return cap
        return best

    def fragment(self, name: str) -> int:
        known = self.known.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return 0  # unknown fragments and cycles are the specified rules' errors
        self.visiting.add(name)
        try:
            depth = self.of(fragment.selection_set, self.limit + 1)
        finally:
            self.visiting.discard(name)
        self.known[name] = depth
        return depth


def depth_errors(document: DocumentNode, fragments: Fragments, limit: int) -> list[GraphQLError]:
    """An error for each operation nested more than `limit` fields deep.

    Every field counts, `__schema` and the other introspection fields too (a leaf is one
    level: `{ hello }` is 1 deep); fragments count where they are spread.
    """
    depth = _Depth(fragments, limit)
    errors = []
    for node in document.definitions:
        if isinstance(node, OperationDefinitionNode):
            try:
                over = depth.of(node.selection_set, limit + 1) > limit
            except RecursionError:  # fragments spread through thousands of fragments
                over = True
            if over:
                errors.append(
                    _limit_error(
                        f"The depth of {_label(node)} is over the limit of {limit} "
                        f"(option max_depth).",
                        DEPTH_CODE,
                        node,
                    )
                )
    return errors


def alias_errors(document: DocumentNode, limit: int) -> list[GraphQLError]:
    """An error when the document has more than `limit` aliased fields, wherever they are."""
    count = 0
    pending: list[SelectionSetNode] = [
        node.selection_set
        for node in document.definitions
        if isinstance(node, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    count += 1
                    if count > limit:
                        return [
                            _limit_error(
                                f"The document has more than {limit} aliases (option max_aliases).",
                                ALIASES_CODE,
                            )
                        ]
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
    return []


def root_field_errors(
    document: DocumentNode, fragments: Fragments, limit: int
) -> list[GraphQLError]:
    """An error for each operation selecting more than `limit` root fields (fragments included,
    each fragment once)."""
    errors = []
    for node in document.definitions:
        if not isinstance(node, OperationDefinitionNode):
            continue
        count = 0
        pending: list[SelectionSetNode] = [node.selection_set]
        seen: set[str] = set()
        while pending and count <= limit:
            for selection in pending.pop().selections:
                if isinstance(selection, FieldNode):
                    count += 1
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = fragments.get(name)
                    if fragment is not None and name not in seen:
                        seen.add(name)
                        pending.append(fragment.selection_set)
        if count > limit:
            errors.append(
                _limit_error(
                    f"{_label(node).capitalize()} selects more than {limit} root fields "
                    f"(option max_root_fields).",
                    ROOT_FIELDS_CODE,
                    node,
                )
            )
    return errors


def limits_rule(
    max_depth: int | None, max_aliases: int | None, max_root_fields: int | None
) -> type[ValidationRule]:
    """One rule checking every limit that is set (None: that limit is off)."""

    class LimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> object:
            fragments = fragments_of(node)
            errors: list[GraphQLError] = []
            if max_depth is not None:
                errors += depth_errors(node, fragments, max_depth)
            if max_aliases is not None:
                errors += alias_errors(node, max_aliases)
            if max_root_fields is not None:
                errors += root_field_errors(node, fragments, max_root_fields)
            for error in errors:
                self.report_error(error)
            return self.BREAK

    return LimitsRule


def depth_rule(limit: int) -> type[ValidationRule]:
    """A rule refusing operations nested more than `limit` fields deep (see `depth_errors`)."""
    return limits_rule(limit, None, None)


def aliases_rule(limit: int) -> type[ValidationRule]:
    """A rule refusing documents with more than `limit` aliased fields."""
    return limits_rule(None, limit, None)


def root_fields_rule(limit: int) -> type[ValidationRule]:
    """A rule refusing operations selecting more than `limit` root fields."""
    return limits_rule(None, None, limit)


__all__ = [
    "ALIASES_CODE",
    "DEPTH_CODE",
    "ROOT_FIELDS_CODE",
    "alias_errors",
    "aliases_rule",
    "depth_errors",
    "depth_rule",
    "limits_rule",
    "root_field_errors",
    "root_fields_rule",
]
