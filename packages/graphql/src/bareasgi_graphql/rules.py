"""Validation rules that find their handlers once per class, not once per document.

graphql-core's `validate` makes a new instance of every rule for every document, and each
instance looks its handlers up by name for every node kind the document has (`enter_field`,
else `enter`, and the same for leaving): four `getattr` calls, most of them failing, and a new
`EnterLeaveVisitor`, per rule and per kind. For a small document that is about a third of
validation, which is what a document never seen before costs (the engine's cache spares the
rest). `fast_rule(rule)` is a subclass of `rule` whose `get_enter_leave_for_kind` (graphql-core's
documented way to resolve handlers) remembers, per class, which handler *names* a kind has, and
answers a kind with none by one shared empty pair. The handlers themselves, and so the errors,
are the rule's own: a property test feeds both the same documents and requires the same errors.
A handler set on an instance rather than its class would not be seen: none of graphql-core's
rules does that, and the engine only wraps those.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from graphql.language.visitor import EnterLeaveVisitor
from graphql.validation import ASTValidationRule

_NONE: Final = EnterLeaveVisitor(None, None)


def _handler(cls: type[Any], event: str, kind: str) -> str | None:
    for name in (f"{event}_{kind}", event):
        if getattr(cls, name, None):
            return name
    return None


def fast_rule(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    """`rule`, resolving its handlers by kind once per class (see the module's docstring)."""
    names: dict[str, tuple[str | None, str | None] | None] = {}

    def get_enter_leave_for_kind(self: ASTValidationRule, kind: str) -> EnterLeaveVisitor:
        try:
            pair = names[kind]
        except KeyError:
            cls = type(self)
            enter, leave = _handler(cls, "enter", kind), _handler(cls, "leave", kind)
            pair = names[kind] = (enter, leave) if enter or leave else None
        if pair is None:
            return _NONE
        enter, leave = pair
        return EnterLeaveVisitor(
            getattr(self, enter) if enter else None, getattr(self, leave) if leave else None
        )

    return type(
        rule.__name__,
        (rule,),
        {
            "get_enter_leave_for_kind": get_enter_leave_for_kind,
            "__doc__": rule.__doc__,
            "__module__": rule.__module__,
        },
    )


def fast_rules(rules: Iterable[type[ASTValidationRule]]) -> tuple[type[ASTValidationRule], ...]:
    """Each of `rules` through `fast_rule`."""
    return tuple(fast_rule(rule) for rule in rules)


__all__ = ["fast_rule", "fast_rules"]
