"""The name-clash guard (`tests/name_clash_guard.py`, run by the root `conftest.py`): every
installed bareasgi* distribution comes from this repository, or no test runs."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

import name_clash_guard
import pytest
from name_clash_guard import foreign_distributions

import bareasgi

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


def test_the_guard_is_the_repositorys_not_the_published_testing_package() -> None:
    import bareasgi.testing

    assert not hasattr(bareasgi.testing, "foreign_distributions")
    assert Path(name_clash_guard.__file__ or "").resolve() == REPO_ROOT / "tests" / (
        "name_clash_guard.py"
    )


def fake_distribution(
    where: Path, name: str, direct_url: dict[str, Any] | None
) -> PathDistribution:
    info = where / f"{name.replace('-', '_').replace('.', '_')}-5.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 5.0.0\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return PathDistribution(info)


def test_foreign_distributions_are_reported(tmp_path: Path) -> None:
    inside = (REPO_ROOT / "packages" / "core").as_uri()
    dists = [
        fake_distribution(tmp_path / "a", "bareasgi", None),
        fake_distribution(
            tmp_path / "b", "bareASGI.cors", {"url": tmp_path.as_uri(), "dir_info": {}}
        ),
        fake_distribution(
            tmp_path / "c",
            "bareasgi-static",
            {"url": "https://example.org/x.whl", "archive_info": {}},
        ),
        fake_distribution(
            tmp_path / "d", "bareasgi-jinja2", {"url": inside, "dir_info": {"editable": True}}
        ),
        fake_distribution(tmp_path / "e", "bareasgi-prometheus", {"url": inside, "dir_info": {}}),
        fake_distribution(tmp_path / "f", "unrelated", None),
    ]
    problems = foreign_distributions(REPO_ROOT, dists)
    assert len(problems) == 3, problems
    assert "bareasgi 5.0.0 has no direct_url.json" in problems[0]
    assert "bareASGI.cors 5.0.0 was installed from file://" in problems[1]
    assert "outside" in problems[1]
    assert "bareasgi-static 5.0.0 was installed from https://example.org" in problems[2]


def run_pytest(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_package_run_refuses_to_start_beside_an_index_install(tmp_path: Path) -> None:
    # A `bareasgi-cors` 5.0.0 as the index would install it: no direct_url.json. The root
    # conftest must stop the run before collecting anything, for a package's tests too.
    fake_distribution(tmp_path, "bareasgi-cors", None)
    refused = run_pytest("--collect-only", "-q", "packages/core/tests", extra_path=tmp_path)
    assert refused.returncode == pytest.ExitCode.USAGE_ERROR, refused.stdout + refused.stderr
    assert "bareasgi distributions not installed from this repository" in refused.stderr
    assert "bareasgi-cors 5.0.0 has no direct_url.json" in refused.stderr


def test_the_same_run_starts_without_it() -> None:
    accepted = run_pytest("--collect-only", "-q", "tests/test_provenance.py")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "test_the_same_run_starts_without_it" in accepted.stdout
