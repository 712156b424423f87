"""The `static` plugin: enabled by name with options, several mounts, state, errors at start-up."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import bareasgi_static
import bareasgi_static.plugin
from bareasgi import (
    Application,
    EnabledPlugin,
    PluginNotEnabledError,
    PluginOptionsError,
)
from bareasgi.options import describe_options
from bareasgi.testing import (
    TestClient,
    assert_accessor_refuses_without_plugin,
    assert_plugin_exports,
    assert_state_from_app_and_scope,
)
from bareasgi_static import (
    DEFAULT_MOUNT,
    PLUGIN_NAME,
    StaticFiles,
    StaticOptions,
    StaticSettings,
    StaticState,
    add_static_files,
    static_state,
)
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


def test_the_package_has_the_plugin_shape() -> None:
    assert_plugin_exports(
        bareasgi_static,
        "static",
        options=StaticOptions,
        accessor="static_state",
        enable="add_static_files",
    )


async def test_the_state_accessor_needs_the_plugin() -> None:
    raised = await assert_accessor_refuses_without_plugin("static", static_state)
    assert "'static' plugin is not enabled" in str(raised)
    with pytest.raises(PluginNotEnabledError, match="'static' plugin"):
        static_state({})


Make = Callable[[Path], Application]


def by_name(public: Path) -> Application:
    return Application(plugins={"static": {"directory": str(public)}})


def by_add(public: Path) -> Application:
    app = Application()
    add_static_files(app, public)
    return app


@pytest.mark.parametrize("make", [by_name, by_add], ids=["plugin", "add_static_files"])
async def test_static_state_from_the_app_and_the_scope(public: Path, make: Make) -> None:
    await assert_state_from_app_and_scope(make(public), PLUGIN_NAME, static_state, StaticState)


def test_the_default_mount_is_static_everywhere(tmp_path: Path) -> None:
    assert DEFAULT_MOUNT == "/static"
    assert StaticSettings().mount == "/static"
    assert StaticOptions().mount == "/static"
    assert inspect.signature(add_static_files).parameters["mount"].default == "/static"
    state = add_static_files(Application(), tmp_path)
    assert [files.settings.mount for files in state.files] == ["/static"]
    app = Application(plugins={"static": {"mounts": [{"directory": str(tmp_path)}]}})
    assert [files.settings.mount for files in static_state(app).files] == ["/static"]


async def test_add_static_files_serves_at_static_by_default(public: Path) -> None:
    async with TestClient(by_add(public)) as client:
        assert (await client.get("/static/site.css")).content == CSS
        assert (await client.get("/site.css")).status_code == 404


async def test_add_static_files_enables_the_plugin(public: Path) -> None:
    app = Application()
    state = add_static_files(app, public, "/assets", cache_control="max-age=5", name="assets")
    enabled = app.plugins[PLUGIN_NAME]
    assert enabled.plugin is bareasgi_static.plugin
    assert bareasgi_static.plugin.name == PLUGIN_NAME
    assert enabled.options == StaticOptions(
        directory=str(public), mount="/assets", cache_control="max-age=5", name="assets"
    )
    assert state is static_state(app)
    assert app.shutdown_handlers == []  # the plugin's lifespan lets the threads go
    [(plugin, answer)] = app.plugin_results("bareasgi_template_globals")
    assert plugin.name == PLUGIN_NAME
    assert answer["static_url"]("a.css") == "/assets/a.css"


@pytest.mark.parametrize("make", [by_name, by_add], ids=["plugin", "add_static_files"])
async def test_add_static_files_places_its_routes_as_the_plugin(public: Path, make: Make) -> None:
    app = make(public)
    app.start()
    assert app.plugin_results("bareasgi_middleware") == []
    assert app.plugin_results("bareasgi_asgi_wrapper") == []
    assert app.middlewares == ()
    assert sorted(route.template for route in app.http_router) == [
        "/static",
        "/static/{path:path}",
    ]
    async with TestClient(app) as client:
        response = await client.get("/static/site.css", headers={"accept-encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert (await client.get("/static")).headers["location"] == "/static/"


async def test_add_static_files_several_folders(public: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_bytes(b"other")
    app = Application()
    first = add_static_files(app, public)
    second = add_static_files(app, other, "/other", cache_control="max-age=1", name="other")
    assert second is first
    assert [files.settings.mount for files in first.files] == ["/static", "/other"]
    assert app.plugins.names() == [PLUGIN_NAME]
    assert first.url("a.txt", mount="/other") == "/other/a.txt"
    assert app.url_for("other", path="a.txt") == "/other/a.txt"
    with pytest.raises(ValueError, match="'/other' is mounted twice"):
        add_static_files(app, public, "/other")
    with pytest.raises(ValueError, match="is not a directory"):
        add_static_files(app, tmp_path / "missing", "/missing")
    assert len(first.files) == 2
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).content == CSS
        response = await client.get("/other/a.txt")
        assert response.content == b"other"
        assert response.headers["cache-control"] == "max-age=1"
        assert "cache-control" not in (await client.get("/static/site.css")).headers
        pools = [pool_of(files) for files in first.files]
        assert all(pool is not None for pool in pools)
    # The plugin's lifespan let the threads of both mounts go.
    assert [pool_of(files) for files in first.files] == [None, None]
    with pytest.raises(RuntimeError, match="started"):
        add_static_files(app, other, "/late")


async def test_add_static_files_adds_to_the_plugin_enabled_by_name(
    public: Path, tmp_path: Path
) -> None:
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "b.txt").write_bytes(b"more")
    app = Application(plugins={"static": {"directory": str(public), "cache_control": "no-cache"}})
    state = add_static_files(app, tmp_path / "more", "/more")
    assert state is static_state(app)
    async with TestClient(app) as client:
        assert (await client.get("/static/site.css")).headers["cache-control"] == "no-cache"
        response = await client.get("/more/b.txt")  # its own settings, not the plugin's
        assert response.content == b"more"
        assert "cache-control" not in response.headers
    assert [pool_of(files) for files in state.files] == [None, None]


def test_add_static_files_refuses_another_plugin_named_static(public: Path) -> None:
    class Impostor:
        name = "static"

        def bareasgi_setup(self, plugin: EnabledPlugin) -> None:
            plugin.state = "not a StaticState"

    app = Application(plugins=[Impostor()])
    with pytest.raises(TypeError, match="not a StaticState"):
        add_static_files(app, public, "/x")


def test_template_globals_offer_static_url(public: Path) -> None:
    app = Application(plugins={"static": {"directory": str(public), "mount": "/assets"}})
    [(plugin, answer)] = app.plugin_results("bareasgi_template_globals")
    assert plugin.name == "static"
    assert answer["static_url"]("css/site.css") == "/assets/css/site.css"


def pool_of(files: StaticFiles) -> object:
    return files._pool


@pytest.mark.parametrize("make", [by_name, by_add], ids=["plugin", "add_static_files"])
async def test_the_lifespan_lets_the_worker_threads_go(public: Path, make: Make) -> None:
    app = make(public)
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


async def test_head_and_304_keep_the_length_of_the_body_they_do_not_send(public: Path) -> None:
    """Core checks a whole body's content-length (a mismatch is a 500), except for HEAD, 204
    and 304 answers, which carry the length of the body they do not send: static's are
    answered as they are."""
    async with TestClient(by_add(public)) as client:
        plain = {"accept-encoding": "identity"}  # not a precompressed sibling
        got = await client.get("/static/site.css", headers=plain)
        assert got.status_code == 200
        length = got.headers["content-length"]
        assert length == str(len(got.content))
        head = await client.head("/static/site.css", headers=plain)
        assert head.status_code == 200
        assert head.headers["content-length"] == length
        assert head.content == b""
        again = await client.get(
            "/static/site.css", headers={**plain, "if-none-match": got.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""
