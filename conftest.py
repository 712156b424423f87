"""Shared by every test run in this repository: refuse to test code that is not ours.

Unrelated distributions named `bareasgi*` exist on the public index. Before any test runs, every
installed `bareasgi*` distribution must have been installed from this checkout (PEP 610
`direct_url.json` pointing inside it), and `bareasgi` must import from here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent


def pytest_sessionstart(session: pytest.Session) -> None:
    from bareasgi.testing import foreign_distributions

    problems = foreign_distributions(REPO_ROOT)
    if problems:
        raise pytest.UsageError(
            "bareasgi distributions not installed from this repository:\n  " + "\n  ".join(problems)
        )
