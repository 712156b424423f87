"""Meta-tests: every hook is documented in one template and exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from bareasgi import hookspecs

ROOT = Path(__file__).resolve().parents[1]
TEST_SOURCES = [
    *sorted((ROOT / "tests").rglob("*.py")),
    *sorted((ROOT / "packages").glob("*/tests/**/*.py")),
]
DOCS = [ROOT / "packages" / "core" / "README.md"]


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
        path
        for path in TEST_SOURCES
        if path.name != Path(__file__).name and hook in path.read_text()
    ]
    assert users, f"no test implements or calls {hook}"
