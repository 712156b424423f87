"""Core's extras: one per plugin package that exists here, pinned to our version; `all` = all."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_PLUGINS = {"server", "testing", "all"}


def load(path: Path) -> dict[str, object]:
    with path.open("rb") as file:
        return tomllib.load(file)


def test_every_plugin_package_has_an_extra_and_every_extra_a_package() -> None:
    core = load(ROOT / "packages" / "core" / "pyproject.toml")["project"]
    assert isinstance(core, dict)
    version = core["version"]
    extras: dict[str, list[str]] = core["optional-dependencies"]
    plugins = {
        path.parent.name: load(path)["project"]
        for path in (ROOT / "packages").glob("*/pyproject.toml")
        if path.parent.name != "core"
    }
    plugin_extras = {name: deps for name, deps in extras.items() if name not in NOT_PLUGINS}
    assert set(plugin_extras) == set(plugins)
    for name, project in plugins.items():
        assert isinstance(project, dict)
        pin = f"{project['name']}=={version}"
        assert plugin_extras[name] == [pin]
        assert f"bareasgi=={version}" in project["dependencies"]
        entry_points = project["entry-points"]["bareasgi.plugins"]
        assert name in entry_points
    assert sorted(extras["all"]) == sorted(pin for deps in plugin_extras.values() for pin in deps)


def test_every_member_resolves_to_the_workspace() -> None:
    root = load(ROOT / "pyproject.toml")
    sources = root["tool"]["uv"]["sources"]  # type: ignore[index]
    names = {load(path)["project"]["name"] for path in (ROOT / "packages").glob("*/pyproject.toml")}  # type: ignore[index]
    assert set(sources) == names
    assert all(source == {"workspace": True} for source in sources.values())
