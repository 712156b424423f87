"""Plugin options: frozen dataclasses checked against the user's mapping, every problem at once."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, Union, get_args, get_origin

_MISSING: Final = dataclasses.MISSING


class OptionsError(ValueError):
    """Options that do not validate; `problems` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def option(doc: str, *, default: Any = _MISSING, default_factory: Any = _MISSING) -> Any:
    """A dataclass field for a plugin option, with the line `python -m bareasgi plugins` shows.

        path: str = option("the metrics route's path", default="/metrics")

    Without a default the option is required.
    """
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata={"doc": doc}
    )


def string_list(values: Iterable[str]) -> list[str]:
    """`values` as a list, for an `add_*` function's list-of-strings option: a lone string is
    refused (`TypeError`), not taken as a list of its characters."""
    if isinstance(values, str):
        raise TypeError(f"expected a list of strings, not the string {values!r}")
    return list(values)


def build_options(options_class: type[Any], values: Mapping[str, Any], owner: str) -> Any:
    """Build `options_class` from `values`, checking names and types.

    Raises:
        OptionsError: naming `owner` and the option, for every problem found.
    """
    if not dataclasses.is_dataclass(options_class):
        raise TypeError(f"{owner}: the options class {options_class!r} is not a dataclass")
    if not isinstance(values, Mapping):
        raise OptionsError([f"{owner}: options must be a mapping, not {type(values).__name__}"])
    hints = typing.get_type_hints(options_class)
    fields = {field.name: field for field in dataclasses.fields(options_class) if field.init}
    problems: list[str] = []
    for name in values:
        if name not in fields:
            known = ", ".join(sorted(fields)) or "none"
            problems.append(f"{owner}: unknown option {name!r} (known options: {known})")
    converted: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in values:
            if field.default is _MISSING and field.default_factory is _MISSING:
                problems.append(f"{owner}: option {name!r} is required")
            continue
        ok, value = _convert(values[name], hints.get(name, Any))
        if ok:
            converted[name] = value
        else:
            problems.append(
                f"{owner}: option {name!r} must be {describe_type(hints.get(name, Any))}, "
                f"not {values[name]!r}"
            )
    if problems:
        raise OptionsError(problems)
    return options_class(**converted)


def _convert(value: Any, hint: Any) -> tuple[bool, Any]:
    if hint is Any or hint is object:
        return True, value
    origin = get_origin(hint)
    if origin is Literal:
        return (value in get_args(hint)), value
    if origin in (Union, types.UnionType):
        for arm in get_args(hint):
            ok, converted = _convert(value, arm)
            if ok:
                return True, converted
        return False, value
    if hint is type(None):
        return value is None, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if hint in (str, bytes):
        return isinstance(value, hint), value
    if origin in (tuple, list, frozenset, set):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(
            value, (list, tuple, set, frozenset)
        ):
            return False, value
        args = get_args(hint)
        item_hint = args[0] if args else Any
        items = []
        for item in value:
            ok, converted = _convert(item, item_hint)
            if not ok:
                return False, value
            items.append(converted)
        return True, origin(items)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            return False, value
        key_hint, value_hint = get_args(hint) or (Any, Any)
        result = {}
        for key, item in value.items():
            key_ok, key = _convert(key, key_hint)
            item_ok, item = _convert(item, value_hint)
            if not (key_ok and item_ok):
                return False, value
            result[key] = item
        return True, result
    if isinstance(hint, type):
        return isinstance(value, hint), value
    return True, value


def describe_type(hint: Any) -> str:
    """A short, readable name for a type hint."""
    if hint is Any:
        return "anything"
    if hint is type(None):
        return "None"
    origin = get_origin(hint)
    if origin is Literal:
        return " or ".join(repr(arg) for arg in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(arg) for arg in get_args(hint))
    if origin in (tuple, list, frozenset, set):
        args = [arg for arg in get_args(hint) if arg is not Ellipsis]
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin in (dict, Mapping):
        return "a mapping"
    return getattr(hint, "__name__", repr(hint))


def describe_options(options_class: type[Any] | None) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) for each option, for `python -m bareasgi plugins`."""
    if options_class is None:
        return []
    hints = typing.get_type_hints(options_class)
    rows = []
    for field in dataclasses.fields(options_class):
        if field.default is not _MISSING:
            default = repr(field.default)
        elif field.default_factory is not _MISSING:
            default = repr(field.default_factory())
        else:
            default = "(required)"
        rows.append(
            (
                field.name,
                describe_type(hints.get(field.name, Any)),
                default,
                field.metadata.get("doc", ""),
            )
        )
    return rows


__all__ = [
    "OptionsError",
    "build_options",
    "describe_options",
    "describe_type",
    "option",
    "string_list",
]
