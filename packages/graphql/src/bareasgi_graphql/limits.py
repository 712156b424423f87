"""Limits on a document, as graphql-core validation rules: depth, aliases, root fields.

They run in a pass of their own before the specification's rules, so that a document over a
limit never reaches the costlier rules (overlapping fields is quadratic in the worst case).
Each error names the option that sets the limit and carries an `extensions.code`.
"""

from __future__ import annotations

from typing import Any, Final

from graphql import GraphQLError, ValidationContext
from graphql.language import (
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


def _limit_error(message: str, code: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code})


def _operation_label(node: OperationDefinitionNode) -> str:
    name = node.name.value if node.name else None
    return f"operation {name!r}" if name else "the anonymous operation"


def depth_rule(limit: int) -> type[ValidationRule]:
    """A rule refusing operations nested more than `limit` fields deep.

    Every field counts, `__schema` and the other introspection fields too (a leaf is one
    level: `{ hello }` is 1 deep); fragments count where they are spread. The walk stops one
    level past the limit, so a document nested 1,000 deep costs no more than one at the limit.
    """
    cap = limit + 1

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments: dict[str, int] = {}
            self._visiting: set[str] = set()

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> object:
            try:
                depth = self._depth(node.selection_set, cap)
            except RecursionError:
                depth = cap
            if depth > limit:
                self.report_error(
                    _limit_error(
                        f"The depth of {_operation_label(node)} is over the limit of "
                        f"{limit} (option max_depth).",
                        DEPTH_CODE,
                        node,
                    )
                )
            return self.SKIP

        def _depth(self, selection_set: SelectionSetNode, cap: int) -> int:
            # The depth of the selection set, or `cap` when it is `cap` or more.
            best = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    inner = selection.selection_set
                    depth = 1 + (self._depth(inner, cap - 1) if inner and cap > 1 else 0)
                elif isinstance(selection, InlineFragmentNode):
                    depth = self._depth(selection.selection_set, cap)
                elif isinstance(selection, FragmentSpreadNode):
                    depth = min(self._fragment_depth(selection.name.value), cap)
                else:  # pragma: no cover - graphql-core has no other selection
                    depth = 0
                if depth > best:
                    best = depth
                    if best >= cap:
                        return cap
            return best

        def _fragment_depth(self, name: str) -> int:
            known = self._fragments.get(name)
            if known is not None:
                return known
            fragment: FragmentDefinitionNode | None = self.context.get_fragment(name)
            if fragment is None or name in self._visiting:
                return 0  # unknown fragments and cycles are the specified rules' errors
            self._visiting.add(name)
            try:
                depth = self._depth(fragment.selection_set, limit + 1)
            finally:
                self._visiting.discard(name)
            self._fragments[name] = depth
            return depth

    return MaxDepthRule


def aliases_rule(limit: int) -> type[ValidationRule]:
    """A rule refusing documents with more than `limit` aliased fields."""

    class MaxAliasesRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._count = 0

        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            if node.alias is not None:
                self._count += 1
                if self._count == limit + 1:
                    self.report_error(
                        _limit_error(
                            f"The document has more than {limit} aliases (option max_aliases).",
                            ALIASES_CODE,
                        )
                    )

    return MaxAliasesRule


def root_fields_rule(limit: int) -> type[ValidationRule]:
    """A rule refusing operations selecting more than `limit` root fields (fragments included)."""

    class MaxRootFieldsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> object:
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
                        fragment = self.context.get_fragment(name)
                        if fragment is not None and name not in seen:
                            seen.add(name)
                            pending.append(fragment.selection_set)
            if count > limit:
                self.report_error(
                    _limit_error(
                        f"{_operation_label(node).capitalize()} selects more than {limit} "
                        f"root fields (option max_root_fields).",
                        ROOT_FIELDS_CODE,
                        node,
                    )
                )
            return self.SKIP

    return MaxRootFieldsRule


__all__ = [
    "ALIASES_CODE",
    "DEPTH_CODE",
    "ROOT_FIELDS_CODE",
    "aliases_rule",
    "depth_rule",
    "root_fields_rule",
]
