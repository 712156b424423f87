"""The name-clash guard: every installed bareasgi* distribution comes from this repository."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import bareasgi
from bareasgi.testing import foreign_distributions

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_every_bareasgi_distribution_is_from_this_repository() -> None:
    names = [
        dist.metadata["Name"]
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"].lower().replace("_", "-").startswith("bareasgi")
    ]
    assert "bareasgi" in names
    assert foreign_distributions(REPO_ROOT) == []


def test_bareasgi_imports_from_this_repository() -> None:
    assert Path(bareasgi.__file__).resolve().is_relative_to(REPO_ROOT / "packages" / "core")
