"""Meta-tests: every hook is documented in one template and exercised by a test."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bareasgi import hookspecs

ROOT = Path(__file__).resolve().parents[1]
TEST_DIRS = [ROOT / "tests", *sorted((ROOT / "packages").glob("*/tests"))]
DOCS = [ROOT / "packages" / "core" / "README.md"]


def is_test_module(path: Path) -> bool:
    """A module pytest collects tests from (`test_*.py` or `*_test.py`)."""
    return path.suffix == ".py" and (path.stem.startswith("test_") or path.stem.endswith("_test"))


def collected_test_modules() -> list[Path]:
    """Every test module of the repository except this one."""
    return [
        path
        for directory in TEST_DIRS
        for path in sorted(directory.rglob("*.py"))
        if is_test_module(path) and path.resolve() != Path(__file__).resolve()
    ]


def _names_used(tree: ast.AST, outside: ast.ClassDef) -> set[str]:
    """Names read anywhere in `tree` except inside the class `outside` itself."""
    skip = {id(node) for node in ast.walk(outside)}
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in skip
    }


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def hook_uses(source: str, hook: str) -> Iterator[str]:
    """Where the test module `source` implements or calls `hook`, one line per use.

    The name must occur in code, so comments (which `ast` drops), docstrings and strings that
    merely mention it do not count. A use is one of:

    - an implementation: a function named exactly `hook` (core takes `bareasgi_*` callables
      as implementations, marked with `hookimpl` or not), either at module level (the module
      is the plugin) or in a class the module refers to by name outside the class itself (the
      plugin object a test builds and enables); a plugin class nothing refers to is not a use;
    - a call or look-up by attribute, `manager.hook.bareasgi_x(...)` or `plugin.bareasgi_x`;
    - a direct reference to an imported implementation, `bareasgi_x(...)`;
    - the name given as a positional argument to a call, e.g. `app.plugin_results("bareasgi_x")`
      or `getattr(manager.hook, "bareasgi_x")`.

    Only test modules are searched: a hook implemented in a helper or fixture package counts
    only when a test module calls it. What `ast` cannot prove is that a test reaches the line;
    the rules keep to code that sits in a test module and is either run at import or names a
    plugin, hook call or result the module's tests use.
    """
    tree = ast.parse(source)
    parents = _parents(tree)
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == hook:
            owner = parents.get(id(node))
            if isinstance(owner, ast.Module):
                yield f"{where}: module-level implementation"
            elif isinstance(owner, ast.ClassDef) and owner.name in _names_used(tree, owner):
                yield f"{where}: implemented by {owner.name}, which the module uses"
        elif isinstance(node, ast.Attribute) and node.attr == hook:
            yield f"{where}: attribute {hook}"
        elif isinstance(node, ast.Name) and node.id == hook and isinstance(node.ctx, ast.Load):
            yield f"{where}: reference to {hook}"
        elif isinstance(node, ast.Call):
            for argument in node.args:
                if isinstance(argument, ast.Constant) and argument.value == hook:
                    yield f"{where}: {hook!r} passed to a call"


def test_hooks_are_found() -> None:
    assert len(hookspecs.HOOK_NAMES) >= 7
    assert all(name.startswith("bareasgi_") for name in hookspecs.HOOK_NAMES)


@pytest.mark.parametrize("hook", hookspecs.HOOK_NAMES)
def test_hook_spec_is_typed_and_documented(hook: str) -> None:
    spec = getattr(hookspecs, hook)
    doc = inspect.getdoc(spec) or ""
    assert "Called" in doc, f"{hook}: say when and how often it is called"
    assert "firstresult:" in doc, f"{hook}: say whether it is firstresult"
    assert "Since" in doc, f"{hook}: give a version note"
    signature = inspect.signature(spec)
    assert signature.return_annotation is not inspect.Signature.empty
    for name, parameter in signature.parameters.items():
        assert parameter.annotation is not inspect.Parameter.empty, f"{hook}({name})"
        assert f":param {name}:" in doc, f"{hook}: document :param {name}:"


@pytest.mark.parametrize("hook", hookspecs.HOOK_NAMES)
def test_hook_is_documented_for_plugin_authors(hook: str) -> None:
    assert any(hook in doc.read_text() for doc in DOCS), f"{hook} missing from the core README"


@pytest.mark.parametrize("hook", hookspecs.HOOK_NAMES)
def test_hook_has_a_test(hook: str) -> None:
    users = [
        f"{path.relative_to(ROOT)} {use}"
        for path in collected_test_modules()
        for use in hook_uses(path.read_text(), hook)
    ]
    assert users, f"no test module implements or calls {hook}"


# The finder itself, on source text: it must say no wherever the hook is only mentioned.
HOOK = "bareasgi_example_hook"

NOT_USES = {
    "a comment": """
        # bareasgi_example_hook is tested elsewhere
        def test_nothing() -> None:
            assert True  # bareasgi_example_hook
    """,
    "a docstring": '''
        """Tests for bareasgi_example_hook."""
        def test_nothing() -> None:
            """bareasgi_example_hook"""
    ''',
    "a string that is no call's argument": """
        NOTE = "bareasgi_example_hook"
        def test_nothing() -> None:
            assert "bareasgi_example_hook" != "x"
    """,
    "a plugin class nothing uses": """
        class Unused:
            def bareasgi_example_hook(self) -> None:
                return None
        def test_nothing() -> None:
            assert True
    """,
    "a misspelt implementation": """
        class Plugin:
            def bareasgi_example_hooks(self) -> None:
                return None
        def test_it() -> None:
            Application(plugins=[Plugin()])
    """,
    "a different name that contains it": """
        def test_it() -> None:
            bareasgi_example_hook_helper()
            manager.hook.bareasgi_example_hook2()
    """,
}

USES = {
    "an implementation in a plugin a test enables": """
        class Plugin:
            @hookimpl
            def bareasgi_example_hook(self) -> None:
                return None
        def test_it() -> None:
            Application(plugins=[Plugin()])
    """,
    "an implementation in a class defined inside a test": """
        def test_it() -> None:
            class Local:
                def bareasgi_example_hook(self) -> None:
                    return None
            Application(plugins=[Local()])
    """,
    "a hook call": """
        def test_it() -> None:
            app.plugins.manager.hook.bareasgi_example_hook()
    """,
    "the hook's results by name": """
        def test_it() -> None:
            assert app.plugin_results("bareasgi_example_hook") == []
    """,
}


@pytest.mark.parametrize("case", sorted(NOT_USES))
def test_the_finder_refuses_a_mention(case: str) -> None:
    assert list(hook_uses(textwrap.dedent(NOT_USES[case]), HOOK)) == []


@pytest.mark.parametrize("case", sorted(USES))
def test_the_finder_accepts_a_use(case: str) -> None:
    assert list(hook_uses(textwrap.dedent(USES[case]), HOOK)) != []


def test_the_finder_reads_only_test_modules() -> None:
    modules = collected_test_modules()
    assert modules
    assert all(is_test_module(path) for path in modules)
    assert Path(__file__).resolve() not in modules
    assert not is_test_module(ROOT / "tests" / "conftest.py")
    assert not is_test_module(ROOT / "packages" / "core" / "tests" / "wire_app.py")
