"""Plugins found through real entry points (the bareasgi-sample-plugins test distribution)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bareasgi import Application, PluginError, PluginOptionsError
from bareasgi.plugins import installed_plugins
from bareasgi.testing import TestClient, run_hypercorn

HERE = Path(__file__).parent


def _imported_after(code: str) -> list[str]:
    """Run `code` in a fresh interpreter; which sample plugin modules got imported."""
    probe = (
        f"{code}\n"
        "import sys\n"
        "print(sorted(m for m in sys.modules if m.startswith('bareasgi_sample_plugins.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return list(eval(result.stdout.strip()))


def test_installed_plugins_are_listed_but_only_named_ones_imported() -> None:
    installed = installed_plugins()
    assert {"sample", "greeter", "misspelt", "sentinel"} <= set(installed)
    imported = _imported_after(
        "from bareasgi import Application\nApplication(plugins={'sample': {}, 'greeter': {}})"
    )
    assert imported == ["bareasgi_sample_plugins.greeter", "bareasgi_sample_plugins.sample"]


def test_an_app_without_plugins_imports_none() -> None:
    assert _imported_after("from bareasgi import Application\nApplication()") == []


async def test_enabled_by_name_configured_and_ordered() -> None:
    app = Application(plugins={"greeter": {}, "sample": {"header": "x-tagged", "tags": ["p", "q"]}})
    sample = app.plugins["sample"]
    assert sample.options.tags == ("p", "q")
    assert [plugin.name for plugin in app.plugins] == ["greeter", "sample"]
    async with TestClient(app) as client:
        answer = await client.get("/sample")
        missing = await client.get("/nowhere")
    assert answer.text == "p,q"
    assert answer.headers["x-tagged"] == "sample"
    assert missing.status_code == 404
    assert missing.headers["x-tagged"] == "sample"  # plugin middleware wraps 404s
    assert sample.state.events == ["asgi:lifespan", "started", "asgi:http", "asgi:http", "stopped"]


async def test_list_form_with_options_pairs() -> None:
    app = Application(plugins=["greeter", ("sample", {"path": "/other"})])
    async with TestClient(app) as client:
        assert (await client.get("/other")).text == "a"


def test_unknown_name_lists_installed_plugins() -> None:
    with pytest.raises(PluginError) as caught:
        Application(plugins={"cros": {}})
    message = str(caught.value)
    assert "greeter" in message
    assert "sample" in message
    assert "Did you mean 'cors'?" in message
    assert "pip install" not in message


def test_invalid_options_all_reported_naming_plugin_and_option() -> None:
    with pytest.raises(PluginOptionsError) as caught:
        Application(plugins={"sample": {"limit": -1, "tags": "a"}, "greeter": {"x": 1}})
    text = str(caught.value)
    assert "plugin 'sample': option 'tags'" in text
    assert "plugin 'greeter' takes no options" in text


def test_negative_limit_refused_by_the_plugins_own_check() -> None:
    with pytest.raises(PluginOptionsError, match="plugin 'sample': option 'limit'"):
        Application(plugins={"sample": {"limit": -1}})


def test_hook_matching_no_spec_is_refused_at_construction() -> None:
    with pytest.raises(PluginError, match=r"plugin 'misspelt'.*bareasgi_middlewares"):
        Application(plugins=["misspelt"])


def test_cli_lists_plugins_distributions_hooks_and_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bareasgi", "plugins"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = result.stdout
    assert "sample  (bareasgi-sample-plugins 0.1.0.dev0" in out
    assert "bareasgi_middleware" in out
    assert "default 'x-sample'" in out
    assert re.search(r"tags +a list of str, default \('a',\)", out)
    assert "cannot be loaded" in out
    assert result.returncode == 1  # the misspelt plugin is reported as a failure


def test_plugins_work_under_a_real_hypercorn(tmp_path: Path) -> None:
    module = tmp_path / "plugin_app.py"
    module.write_text(
        "from bareasgi import Application\n"
        "app = Application(plugins={'sample': {'tags': ['wire']}, 'greeter': {}})\n"
    )
    with run_hypercorn("plugin_app:app", cwd=tmp_path) as server:
        answer = httpx.get(f"{server.base_url}/sample")
    assert answer.text == "wire"
    assert answer.headers["x-sample"] == "sample"
