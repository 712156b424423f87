"""Shared by every test run in this repository: refuse to test code that is not ours.

Unrelated distributions named `bareasgi*` exist on the public index. Before any test runs, every
installed `bareasgi*` distribution must have been installed from this checkout (PEP 610
`direct_url.json` pointing inside it), and `bareasgi` must import from here. The check is
`tests/name_clash_guard.py`, loaded by its path so that it works whichever package's tests
pytest was given (`pytest packages/cors/tests` as well as `pytest tests`).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parent
GUARD_NAME = "name_clash_guard"


def _load_guard() -> ModuleType:
    loaded = sys.modules.get(GUARD_NAME)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(
        GUARD_NAME, REPO_ROOT / "tests" / "name_clash_guard.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[GUARD_NAME] = module  # `import name_clash_guard` in tests/ gets this one
    spec.loader.exec_module(module)
    return module


def pytest_sessionstart(session: pytest.Session) -> None:
    problems: list[str] = _load_guard().foreign_distributions(REPO_ROOT)
    if problems:
        raise pytest.UsageError(
            "bareasgi distributions not installed from this repository:\n  " + "\n  ".join(problems)
        )
