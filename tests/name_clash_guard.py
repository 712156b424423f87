"""The repository's name-clash guard: every installed `bareasgi*` distribution must come from
this checkout.

Unrelated distributions with our names (bareasgi 5.0.0, bareasgi-cors 5.0.0, ...) exist on the
public index. The root `conftest.py` loads this module by its path and refuses to start a test
run, for any package's tests or the cross-package ones, when `foreign_distributions` reports a
problem. It is the repository's test tooling, not part of the published `bareasgi.testing`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def _problem_of(dist: importlib.metadata.Distribution, name: str, root: Path) -> str | None:
    label = f"{name} {dist.version}"
    text = dist.read_text("direct_url.json")
    if text is None:
        return f"{label} has no direct_url.json: it was installed from an index, not this repo"
    try:
        url = json.loads(text)["url"]
    except (ValueError, KeyError, TypeError):
        return f"{label} has an unreadable direct_url.json: {text!r}"
    if not isinstance(url, str):
        return f"{label} has no url in its direct_url.json: {text!r}"
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return f"{label} was installed from {url}, not from a file:// path in {root}"
    if not _inside(Path(unquote(parts.path)), root):
        return f"{label} was installed from {url}, which is outside {root}"
    return None


def foreign_distributions(
    repo_root: Path,
    distributions: Iterable[importlib.metadata.Distribution] | None = None,
) -> list[str]:
    """Problems with `bareasgi*` installs that did not come from `repo_root`.

    Each installed distribution whose normalised name starts with `bareasgi` must have a
    PEP 610 `direct_url.json` (editable or not) with a `file://` URL inside `repo_root`,
    and the imported `bareasgi` package must live inside `repo_root`. Returns one
    human-readable line per problem; empty means all is well. `distributions` defaults
    to everything `importlib.metadata` finds.
    """
    root = Path(repo_root).resolve()
    problems: list[str] = []
    if distributions is None:
        distributions = importlib.metadata.distributions()
    for dist in distributions:
        name = dist.metadata.get("Name")
        if not name or not _normalise(name).startswith("bareasgi"):
            continue
        problem = _problem_of(dist, name, root)
        if problem is not None and problem not in problems:
            problems.append(problem)
    spec = importlib.util.find_spec("bareasgi")
    if spec is None:
        problems.append("the bareasgi package cannot be imported")
    else:
        # A regular package has an origin (its __init__.py); a namespace one, only paths.
        locations = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
        for location in locations:
            if location and not _inside(Path(location), root):
                problems.append(f"bareasgi is imported from {location}, outside {root}")
    return problems
