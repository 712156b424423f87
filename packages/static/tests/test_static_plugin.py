"""The `static` plugin: enabled by name with options, several mounts, state, errors at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bareasgi_static.plugin
from bareasgi import Application, PluginOptionsError
from bareasgi.options import describe_options
from bareasgi.testing import TestClient
from bareasgi_static import StaticFiles, StaticOptions, static_state
from conftest import CSS, INDEX


async def test_enabled_by_name_with_the_issues_options(public: Path) -> None:
    app = Application(
        plugins={"static": {"directory": str(public), "mount": "/static", "index": "index.html"}}
    )
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).content == CSS
        assert (await client.get("/static/")).content == INDEX
        response = await client.get("/static/docs")
        assert response.status_code == 301
        assert response.headers["location"] == "/static/docs/"
        assert (await client.post("/static/site.css")).status_code == 405


async def test_the_default_mount_is_static(public: Path) -> None:
    app = Application(plugins={"static": {"directory": str(public)}})
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).status_code == 200
        assert (await client.get("/site.css")).status_code == 404


async def test_installed_is_not_enabled(public: Path) -> None:
    async with TestClient(Application()) as client:
        assert (await client.get("/static/site.css")).status_code == 404


async def test_several_mounts_inherit_the_top_level_settings(public: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_bytes(b"other")
    app = Application(
        plugins={
            "static": {
                "directory": str(public),
                "cache_control": "max-age=60",
                "name": "static",
                "mounts": [
                    {"directory": str(other), "mount": "/other", "name": "other"},
                    {"directory": str(public), "mount": "/nocache", "cache_control": None},
                ],
            }
        }
    )
    async with TestClient(app) as client:
        response = await client.get("/static/site.css")
        assert response.headers["cache-control"] == "max-age=60"
        response = await client.get("/other/a.txt")
        assert response.content == b"other"
        assert response.headers["cache-control"] == "max-age=60"
        response = await client.get("/nocache/site.css")
        assert "cache-control" not in response.headers
    assert app.url_for("other", path="a.txt") == "/other/a.txt"
    assert app.url_for("static", path="x/y.css") == "/static/x/y.css"
    state = static_state(app)
    assert [files.settings.mount for files in state.files] == ["/static", "/other", "/nocache"]
    assert state.url("css/site.css") == "/static/css/site.css"
    assert state.url("a.txt", mount="/other") == "/other/a.txt"
    with pytest.raises(LookupError):
        state.url("a.txt", mount="/nowhere")


async def test_mounts_alone(public: Path) -> None:
    app = Application(plugins={"static": {"mounts": [{"directory": str(public), "mount": "/"}]}})
    async with TestClient(app) as client:
        assert (await client.get("/site.css")).content == CSS
        assert (await client.get("/")).content == INDEX


def test_every_problem_is_reported_at_once(public: Path, tmp_path: Path) -> None:
    with pytest.raises(PluginOptionsError) as caught:
        Application(
            plugins={
                "static": {
                    "directory": str(tmp_path / "missing"),
                    "mount": "static",
                    "precompressed": ["lzma"],
                    "mounts": [
                        {"directory": str(public), "mount": "/static"},
                        {"directory": str(public), "mount": "/static"},
                        {"mount": "/x"},
                        {"directory": str(public), "mount": "/y", "colour": "red"},
                        {"directory": str(public), "mount": "/z", "chunk_size": "big"},
                        {"directory": str(public), "mount": "/w", "mounts": []},
                    ],
                }
            }
        )
    problems = caught.value.problems
    text = "\n".join(problems)
    assert all(problem.startswith("plugin 'static': ") for problem in problems)
    assert "option 'directory'" in text
    assert "is not a directory" in text
    assert "option 'mount': 'static'" in text
    assert "unknown coding(s) 'lzma'" in text
    assert "mounted twice" in text
    assert "mounts[2]: option 'directory' is required" in text
    assert "mounts[3]: unknown option 'colour'" in text
    assert "mounts[4]: option 'chunk_size' must be int" in text
    assert "mounts[5]: unknown option 'mounts'" in text


def test_a_directory_or_mounts_is_required() -> None:
    with pytest.raises(PluginOptionsError, match="option 'directory' is required"):
        Application(plugins={"static": {}})


def test_options_of_the_wrong_type_are_refused(public: Path) -> None:
    with pytest.raises(PluginOptionsError, match="option 'allow_dotfiles' must be bool"):
        Application(plugins={"static": {"directory": str(public), "allow_dotfiles": "yes"}})


def test_a_route_clash_with_the_app_is_refused_at_once(public: Path) -> None:
    app = Application(plugins={"static": {"directory": str(public)}})

    async def mine(*_: object) -> int:
        return 204

    with pytest.raises(ValueError, match="static"):
        app.http_router.add({"GET"}, "/static/{rest:path}", mine)
    app.http_router.add({"POST"}, "/static/{rest:path}", mine)  # another method is fine


async def test_the_module_itself_can_be_passed(public: Path) -> None:
    app = Application(plugins={bareasgi_static.plugin: {"directory": str(public)}})
    assert "static" in app.plugins
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).status_code == 200


def test_the_state_accessor_needs_the_plugin() -> None:
    with pytest.raises(LookupError, match="'static' plugin is not enabled"):
        static_state(Application())


def test_template_globals_offer_static_url(public: Path) -> None:
    app = Application(plugins={"static": {"directory": str(public), "mount": "/assets"}})
    [(plugin, answer)] = app.plugin_results("bareasgi_template_globals")
    assert plugin.name == "static"
    assert answer["static_url"]("css/site.css") == "/assets/css/site.css"


def pool_of(files: StaticFiles) -> object:
    return files._pool


async def test_the_lifespan_lets_the_worker_threads_go(public: Path) -> None:
    app = Application(plugins={"static": {"directory": str(public)}})
    files = static_state(app).files[0]
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).status_code == 200
        assert pool_of(files) is not None
    assert pool_of(files) is None
    # A request after shutdown (a reused app) starts a new pool.
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).status_code == 200


def test_options_are_documented_for_the_cli() -> None:
    rows = {
        name: (kind, default, doc) for name, kind, default, doc in describe_options(StaticOptions)
    }
    assert rows["mount"][1] == "'/static'"
    assert rows["directory"][1] == "None"
    assert rows["mounts"][1] == "()"
    assert all(doc for _, _, doc in rows.values())


def test_python_m_bareasgi_plugins_lists_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bareasgi", "plugins"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # exits 1 when some other installed plugin cannot load
    )
    assert "static  (bareasgi-static" in result.stdout
    assert "static" in result.stdout
    assert "bareasgi-static" in result.stdout
    assert "allow_outside_symlinks" in result.stdout
