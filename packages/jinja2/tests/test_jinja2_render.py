"""Rendering through the plugin and through `add_jinja2`, in-process."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import jinja2
import pytest
from jinja2_support import INTERNAL_ERROR_BODY, TEMPLATES, call, page_handler, plugin_app

import bareasgi_jinja2
import bareasgi_jinja2.plugin
from bareasgi import (
    APP_KEY,
    Application,
    Content,
    EnabledPlugin,
    HttpError,
    HttpResponse,
    Info,
    Matches,
    PluginError,
    PluginNotEnabledError,
    PluginOptionsError,
    Scope,
)
from bareasgi.options import describe_options
from bareasgi.testing import (
    TestClient,
    assert_accessor_refuses_without_plugin,
    assert_plugin_exports,
    assert_state_from_app_and_scope,
)
from bareasgi_jinja2 import (
    PLUGIN_NAME,
    Jinja2Options,
    Renderer,
    TemplateStream,
    add_jinja2,
    create_environment,
    jinja2_state,
    render_template,
    template,
)

HTML = "text/html; charset=utf-8"
LOGGER = "bareasgi_jinja2"


def explode() -> str:
    raise LookupError("the secret is SECRET-VALUE")


def added_app(env_or_directory: Any = TEMPLATES, **options: Any) -> Application:
    """The same routes as `plugin_app`, through `add_jinja2`."""
    app = Application()
    app.http_router.add({"GET"}, "/page/{name}", page_handler("page.html"), name="page")
    add_jinja2(app, env_or_directory, **options)
    return app


def template_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


# ---- the one-line response ----------------------------------------------------------------------


@pytest.mark.parametrize("make", [plugin_app, added_app], ids=["plugin", "add_jinja2"])
async def test_a_page(make: Any) -> None:
    async with TestClient(make()) as client:
        response = await client.get("/page/World")
    assert response.status_code == 200
    assert response.headers["content-type"] == HTML
    assert response.headers["content-length"] == str(len(response.content))
    assert "<h1>Hello, World!</h1>" in response.text
    assert '<a href="/page/World" title="World">' in response.text


async def test_add_jinja2_takes_a_ready_environment() -> None:
    env = create_environment(TEMPLATES, enable_async=False)
    app = added_app(env)
    async with TestClient(app) as client:
        response = await client.get("/page/%3Cb%3E")
    assert "<h1>Hello, &lt;b&gt;!</h1>" in response.text
    assert env.globals["url_for"] == app.url_for


async def test_a_users_own_url_for_is_kept() -> None:
    env = create_environment(TEMPLATES)
    env.globals["url_for"] = lambda route, /, **params: f"/mine/{route}"
    async with TestClient(added_app(env)) as client:
        response = await client.get("/page/x")
    assert 'href="/mine/page"' in response.text


@pytest.mark.parametrize(
    ("name", "content_type", "escaped"),
    [
        ("page.html", HTML, True),
        ("notes.txt", "text/plain; charset=utf-8", False),
        ("feed.xml", "text/xml; charset=utf-8", True),
        ("card.jinja", HTML, True),
        ("card.html.j2", HTML, False),
        ("raw.tmpl", "text/plain; charset=utf-8", False),
    ],
)
async def test_content_type_and_escaping_follow_the_name(
    name: str, content_type: str, escaped: bool
) -> None:
    app = plugin_app({"/t": page_handler(name, name="<i>&</i>")})
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.headers["content-type"] == content_type
    assert ("&lt;i&gt;&amp;&lt;/i&gt;" in response.text) is escaped
    assert ("<i>&</i>" in response.text) is not escaped


async def test_status_headers_and_content_type_are_settable() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(
            scope,
            "notes.txt",
            MappingProxyType({"name": "x"}),
            status=201,
            headers=[(b"x-extra", b"1"), (b"cache-control", b"no-store")],
            content_type="text/markdown; charset=utf-8",
        )

    async with TestClient(plugin_app({"/t": handler})) as client:
        response = await client.get("/t")
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["x-extra"] == "1"
    assert response.headers["cache-control"] == "no-store"
    assert response.text == "Hello, x!"


async def test_content_types_option() -> None:
    app = plugin_app(
        {"/t": page_handler("notes.txt", name="n")},
        content_types={".TXT": "text/markdown; charset=utf-8"},
    )
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"


async def test_a_bad_content_type_argument_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(scope, "notes.txt", {}, content_type="text/html\r\nx: y")

    async with TestClient(plugin_app({"/t": handler})) as client:
        response = await client.get("/t")
    assert response.status_code == 500
    assert "x: y" not in response.text


async def test_no_context_and_none_context() -> None:
    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(scope, "notes.txt")

    async with TestClient(plugin_app({"/t": handler})) as client:
        response = await client.get("/t")
    assert response.text == "Hello, !"


async def test_the_template_decorator() -> None:
    app = plugin_app()

    @app.on_http_request({"GET"}, "/hello/{name}")
    @template("page.html", status=202, headers=[(b"x-decorated", b"yes")])
    async def hello(
        scope: Scope, info: Info, matches: Matches, content: Content
    ) -> Mapping[str, Any] | HttpResponse:
        if matches["name"] == "away":
            return 303, [(b"location", b"/hello/back")]
        return {"name": matches["name"], "title": "decorated"}

    assert hello.__name__ == "hello"
    async with TestClient(app) as client:
        first = await client.get("/hello/you")
        second = await client.get("/hello/me")
        away = await client.get("/hello/away")
    assert first.status_code == 202
    assert first.headers["x-decorated"] == "yes"
    assert "<title>decorated</title>" in first.text
    assert "Hello, you!" in first.text
    assert "Hello, me!" in second.text
    assert second.headers.get_list("x-decorated") == ["yes"]  # no header list is shared
    assert away.status_code == 303
    assert away.headers["location"] == "/hello/back"


@pytest.mark.parametrize("make", [plugin_app, added_app], ids=["plugin", "add_jinja2"])
async def test_jinja2_state_from_the_app_and_the_scope(make: Any) -> None:
    app = make()
    renderer = await assert_state_from_app_and_scope(app, PLUGIN_NAME, jinja2_state, Renderer)
    assert renderer.app is app


def test_the_package_has_the_plugin_shape() -> None:
    assert_plugin_exports(
        bareasgi_jinja2,
        "jinja2",
        options=Jinja2Options,
        accessor="jinja2_state",
        enable="add_jinja2",
        removed=("get_renderer",),  # the old accessor is gone
    )


async def test_the_state_accessor_needs_the_plugin() -> None:
    raised = await assert_accessor_refuses_without_plugin("jinja2", jinja2_state)
    assert "'jinja2' plugin is not enabled" in str(raised)


async def test_without_jinja2_enabled(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(PluginNotEnabledError, match="'jinja2' plugin"):
        jinja2_state({})
    with pytest.raises(PluginNotEnabledError, match="'jinja2' plugin is not enabled"):
        jinja2_state(Application())
    with pytest.raises(PluginNotEnabledError, match="'jinja2' plugin is not enabled"):
        jinja2_state({APP_KEY: Application()})
    app = Application()
    app.http_router.add({"GET"}, "/t", page_handler("page.html"))
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.status_code == 500
    assert any("not enabled" in r.getMessage() or r.exc_info for r in caplog.records)


# ---- small pages whole, large pages streamed ----------------------------------------------------


async def test_a_small_page_is_one_message_with_a_length() -> None:
    exchange = await call(plugin_app(), "/page/small")
    assert [m["type"] for m in exchange.messages] == ["http.response.start", "http.response.body"]
    assert exchange.headers[b"content-length"] == str(len(exchange.body)).encode()
    assert exchange.complete


@pytest.mark.parametrize("enable_async", [True, False])
async def test_a_large_page_streams_in_coalesced_chunks(enable_async: bool) -> None:
    rows = range(3000)
    app = plugin_app(
        {"/rows": page_handler("rows.html", rows=rows, label="<x>")},
        enable_async=enable_async,
        buffer_size=1000,
        chunk_size=4000,
    )
    exchange = await call(app, "/rows")
    expected = (
        jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
        .get_template("rows.html")
        .render(rows=rows, label="<x>")
    )
    assert exchange.complete
    assert exchange.status == 200
    assert b"content-length" not in exchange.headers
    assert exchange.headers[b"content-type"] == HTML.encode()
    assert exchange.body.decode() == expected
    sizes = [size for size in exchange.sizes if size]
    assert sizes[0] >= 1000
    assert all(size >= 4000 for size in sizes[1:-1])
    assert 4 < len(sizes) < len(expected) / 4000 + 3


async def test_a_page_of_exactly_the_buffer_is_whole() -> None:
    size = len("Hello, n!")
    app = plugin_app({"/t": page_handler("notes.txt", name="n")}, buffer_size=size)
    exchange = await call(app, "/t")
    assert len(exchange.messages) == 2
    assert exchange.headers[b"content-length"] == str(size).encode()
    app = plugin_app({"/t": page_handler("notes.txt", name="n")}, buffer_size=size - 1)
    exchange = await call(app, "/t")
    assert b"content-length" not in exchange.headers
    assert exchange.body == b"Hello, n!"
    assert exchange.complete


async def test_head_requests() -> None:
    closed: list[str] = []

    async def rows() -> AsyncIterator[int]:
        try:
            for i in range(5000):
                yield i
        finally:
            closed.append("rows")

    async def large(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(scope, "rows.html", {"rows": rows(), "label": "x"})

    app = plugin_app({"/rows": large}, buffer_size=100)
    small = await call(app, "/page/x", method="HEAD")
    assert small.body == b""
    assert int(small.headers[b"content-length"]) > 0
    big = await call(app, "/rows", method="HEAD")
    assert big.status == 200
    assert big.body == b""
    for _ in range(100):
        if closed:
            break
        await asyncio.sleep(0.01)
    assert closed == ["rows"]


async def test_a_client_leaving_closes_the_template() -> None:
    closed = asyncio.Event()
    produced: list[int] = []

    async def rows() -> AsyncIterator[int]:
        try:
            for i in range(100_000):
                produced.append(i)
                yield i
                await asyncio.sleep(0)
        finally:
            closed.set()

    async def large(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return await render_template(scope, "rows.html", {"rows": rows(), "label": "x"})

    async with TestClient(plugin_app({"/rows": large})) as client:
        async with client.stream("GET", "/rows") as response:
            async for chunk in response.aiter_bytes():
                assert chunk
                break
        await asyncio.wait_for(closed.wait(), 10)
        await client.wait_for_app_tasks()
    assert len(produced) < 100_000


async def test_template_stream_closes_when_never_read() -> None:
    closed: list[bool] = []

    def rows() -> Iterable[int]:
        try:
            yield from range(10_000)
        finally:
            closed.append(True)

    renderer = Renderer(Application(), create_environment(TEMPLATES, enable_async=False))
    _, _, body = await renderer.render("rows.html", {"rows": rows()})
    assert isinstance(body, TemplateStream)
    await body.aclose()
    assert closed == [True]
    with pytest.raises(StopAsyncIteration):
        await body.__anext__()


# ---- async rendering ----------------------------------------------------------------------------


async def test_templates_await_and_iterate_async_generators() -> None:
    async def fetch(name: str) -> str:
        await asyncio.sleep(0)
        return f"fetched <{name}>"

    async def items() -> AsyncIterator[str]:
        for item in ("one", "<two>"):
            await asyncio.sleep(0)
            yield item

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        context = {"fetch": fetch, "name": "n", "items": items(), "numbers": [1, 2, 3]}
        return await render_template(scope, "async_page.html", context)

    async with TestClient(plugin_app({"/t": handler})) as client:
        response = await client.get("/t")
    assert response.text == (
        "<p>fetched &lt;n&gt;</p>\n<ul><li>one</li><li>&lt;two&gt;</li></ul>\n1,2,3"
    )


async def test_synchronous_rendering() -> None:
    app = plugin_app(enable_async=False)
    async with TestClient(app) as client:
        response = await client.get("/page/sync")
    assert "Hello, sync!" in response.text
    assert not app.plugins["jinja2"].state.environment.is_async


# ---- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("enable_async", [True, False])
@pytest.mark.parametrize(
    ("name", "logged"),
    [
        ("runtime_error.html", "'runtime_error.html' failed (in 'runtime_error.html', line 4)"),
        ("syntax_error.html", "'syntax_error.html' failed (in 'syntax_error.html', line 3)"),
        ("include_missing.html", "(in 'include_missing.html', line 2): TemplateNotFound"),
        ("missing.html", "'missing.html' failed (in 'missing.html'): TemplateNotFound"),
        ("child.html", "'child.html' failed (in 'child.html', line 5): LookupError"),
        ("admin/deep.html", "'admin/deep.html' failed (in 'admin/deep.html', line 2)"),
    ],
)
async def test_an_early_error_is_a_clean_500_and_a_log_line(
    caplog: pytest.LogCaptureFixture, enable_async: bool, name: str, logged: str
) -> None:
    app = plugin_app({"/t": page_handler(name, explode=explode)}, enable_async=enable_async)
    exchange = await call(app, "/t")
    assert exchange.status == 500
    assert exchange.body == INTERNAL_ERROR_BODY
    assert exchange.headers[b"content-length"] == str(len(INTERNAL_ERROR_BODY)).encode()
    records = template_logs(caplog)
    assert len(records) == 1
    assert logged in records[0].getMessage()
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    # Handled here: the core logs nothing more.
    assert not [r for r in caplog.records if r.name == "bareasgi"]


async def test_an_http_error_from_the_template_stands(caplog: pytest.LogCaptureFixture) -> None:
    def explode_404() -> str:
        raise HttpError(404, b"No such thing", [(b"content-type", b"text/plain")])

    app = plugin_app({"/t": page_handler("runtime_error.html", explode=explode_404)})
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.status_code == 404
    assert response.text == "No such thing"
    assert not template_logs(caplog)


async def test_the_applications_own_500_is_sent() -> None:
    app = Application(
        plugins={"jinja2": {"directory": str(TEMPLATES)}},
        internal_error_response=(500, [(b"content-type", b"text/html")], b"<p>Oops</p>"),
    )
    app.http_router.add({"GET"}, "/t", page_handler("runtime_error.html", explode=explode))
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.status_code == 500
    assert response.text == "<p>Oops</p>"
    assert response.headers["content-type"] == "text/html"


@pytest.mark.parametrize("enable_async", [True, False])
async def test_an_error_after_the_headers_ends_the_response(
    caplog: pytest.LogCaptureFixture, enable_async: bool
) -> None:
    app = plugin_app(
        {"/t": page_handler("late_error.html", rows=range(2000), explode=explode)},
        enable_async=enable_async,
    )
    exchange = await call(app, "/t")
    assert exchange.status == 200
    assert not exchange.complete  # no final message: the server ends the connection
    assert INTERNAL_ERROR_BODY not in exchange.body
    assert b"SECRET-VALUE" not in exchange.body
    ours = template_logs(caplog)
    assert len(ours) == 1
    assert "'late_error.html' failed (in 'late_error.html', line 4) after its response" in (
        ours[0].getMessage()
    )
    core = [r for r in caplog.records if r.name == "bareasgi"]
    assert len(core) == 1
    assert "streaming" in core[0].getMessage()
    assert core[0].exc_info is not None
    assert isinstance(core[0].exc_info[1], LookupError)


async def test_an_error_after_the_headers_over_the_client() -> None:
    app = plugin_app({"/t": page_handler("late_error.html", rows=range(2000), explode=explode)})
    async with TestClient(app) as client:
        with pytest.raises(httpx.HTTPError):
            await client.get("/t")


# ---- globals and filters from plugins -----------------------------------------------------------


class GlobalsPlugin:
    """A local plugin offering template globals, as the static plugin offers `static_url`."""

    def __init__(self, name: str, answer: Any) -> None:
        self.name = name
        self.answer = answer

    def bareasgi_template_globals(self, plugin: EnabledPlugin) -> Any:
        return self.answer


def globals_plugin(name: str, answer: Any) -> GlobalsPlugin:
    return GlobalsPlugin(name, answer)


STATIC = globals_plugin(
    "fake_static", {"static_url": lambda path: f"/static/{path}", "greeting": "hi"}
)
SHOUTER = globals_plugin(
    "shouter", {"filter:shout": lambda value: f"{value}!".upper(), "greeting": "HELLO"}
)


@pytest.mark.parametrize("jinja2_first", [True, False])
async def test_plugins_offer_globals_and_filters(jinja2_first: bool) -> None:
    others = [STATIC, SHOUTER]
    app = plugin_app(
        {"/t": page_handler("globals.html", name="<b>")},
        plugins_before=None if jinja2_first else others,
        plugins_after=others if jinja2_first else None,
    )
    async with TestClient(app) as client:
        response = await client.get("/t")
    # The later plugin wins `greeting`; the filter's output is escaped like any value.
    assert response.text == "HELLO &lt;B&gt;! /page/a%20b /static/app.css"


async def test_add_jinja2_collects_globals_from_enabled_plugins() -> None:
    app = Application(plugins=[STATIC, SHOUTER])
    app.http_router.add({"GET"}, "/page/{name}", page_handler("page.html"), name="page")
    app.http_router.add({"GET"}, "/t", page_handler("globals.html", name="x"))
    renderer = add_jinja2(app, TEMPLATES)
    app.start()  # installs the globals (`bareasgi_start`)
    renderer.install_globals()  # once only: nothing changes
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.text == "HELLO X! /page/a%20b /static/app.css"


async def test_add_jinja2_collects_globals_of_plugins_enabled_after_it() -> None:
    app = Application()
    app.http_router.add({"GET"}, "/page/{name}", page_handler("page.html"), name="page")
    app.http_router.add({"GET"}, "/t", page_handler("globals.html", name="x"))
    add_jinja2(app, TEMPLATES)
    app.plugins.enable(STATIC)
    app.plugins.enable(SHOUTER)
    async with TestClient(app) as client:
        response = await client.get("/t")
    assert response.text == "HELLO X! /page/a%20b /static/app.css"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (["not", "a", "mapping"], "returned list, not a mapping"),
        ({"filter:bad": "not callable"}, "filter 'filter:bad' is not callable"),
        ({"": 1}, "is not a name"),
    ],
)
async def test_bad_template_globals_fail_at_start(answer: Any, problem: str) -> None:
    app = plugin_app(plugins_before=[globals_plugin("bad", answer)])
    with pytest.raises(TypeError, match=problem):
        app.start()


@pytest.mark.parametrize(
    "name", ["../jinja2_support.py", "/etc/passwd", "admin/../../jinja2_support.py", "a\x00b"]
)
async def test_template_names_cannot_leave_the_folder(
    caplog: pytest.LogCaptureFixture, name: str
) -> None:
    exchange = await call(plugin_app({"/t": page_handler(name)}), "/t")
    assert exchange.status == 500
    assert exchange.body == INTERNAL_ERROR_BODY
    assert "TemplateNotFound" in template_logs(caplog)[0].getMessage()


def test_url_for_is_there_before_start() -> None:
    app = plugin_app()
    env = app.plugins["jinja2"].state.environment
    assert env.from_string("{{ url_for('page', name='x') }}").render() == "/page/x"


async def test_url_for_percent_encodes() -> None:
    async with TestClient(plugin_app()) as client:
        response = await client.get("/page/a%20b%3F")
    assert 'href="/page/a%20b%3F"' in response.text


# ---- options ------------------------------------------------------------------------------------


def test_options_are_checked_all_at_once(tmp_path: Path) -> None:
    with pytest.raises(PluginOptionsError) as caught:
        Application(
            plugins={
                "jinja2": {
                    "directory": [str(tmp_path / "nope"), str(TEMPLATES)],
                    "buffer_size": 0,
                    "chunk_size": -5,
                    "content_types": {"txt": "text/plain\r\nx: y"},
                }
            }
        )
    problems = "\n".join(caught.value.problems)
    assert "'directory'" in problems
    assert "nope" in problems
    assert "'buffer_size' must be positive" in problems
    assert "'chunk_size' must be positive" in problems
    assert "content type for 'txt'" in problems
    assert len(caught.value.problems) == 4


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({}, "option 'directory' is required"),
        ({"directory": 3}, "option 'directory' must be"),
        ({"directory": []}, "at least one folder"),
        ({"directory": str(TEMPLATES), "enable_async": "yes"}, "option 'enable_async' must be"),
        ({"directory": str(TEMPLATES), "autoreload": True}, "unknown option 'autoreload'"),
        ({"directory": str(TEMPLATES), "content_types": {"txt": ""}}, "non-empty"),
    ],
)
def test_bad_options(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(PluginOptionsError, match=problem):
        Application(plugins={"jinja2": options})


def test_renderer_refuses_bad_arguments() -> None:
    env = create_environment(TEMPLATES)
    with pytest.raises(ValueError, match="positive"):
        Renderer(Application(), env, buffer_size=0)
    with pytest.raises(ValueError, match="content type"):
        Renderer(Application(), env, content_types={"txt": "a\nb"})
    with pytest.raises(ValueError, match="not a directory"):
        add_jinja2(Application(), TEMPLATES / "nope")


def test_options_are_documented() -> None:
    rows = describe_options(Jinja2Options)
    assert [row[0] for row in rows] == [
        "directory",
        "enable_async",
        "auto_reload",
        "autoescape_extensions",
        "extensions",
        "buffer_size",
        "chunk_size",
        "content_types",
        "environment",
    ]
    assert all(row[3] for row in rows)


def test_the_entry_point() -> None:
    (entry,) = [
        ep
        for ep in importlib.metadata.entry_points(group="bareasgi.plugins")
        if ep.name == "jinja2"
    ]
    assert entry.value == "bareasgi_jinja2.plugin"
    assert entry.dist is not None
    assert entry.dist.name == "bareasgi-jinja2"


async def test_extensions_option() -> None:
    app = plugin_app(extensions=["jinja2.ext.loopcontrols"])
    env = app.plugins["jinja2"].state.environment
    assert "jinja2.ext.LoopControlExtension" in env.extensions


@pytest.mark.parametrize("auto_reload", [True, False])
async def test_auto_reload(tmp_path: Path, auto_reload: bool) -> None:
    shutil.copy(TEMPLATES / "notes.txt", tmp_path / "notes.txt")
    app = Application(plugins={"jinja2": {"directory": str(tmp_path), "auto_reload": auto_reload}})
    app.http_router.add({"GET"}, "/t", page_handler("notes.txt", name="n"))
    async with TestClient(app) as client:
        before = await client.get("/t")
        path = tmp_path / "notes.txt"
        path.write_text("Changed {{ name }}\n", encoding="utf-8")
        later = time.time() + 10  # an mtime that differs whatever the clock's resolution
        os.utime(path, (later, later))
        after = await client.get("/t")
    assert before.text == "Hello, n!"
    assert after.text == ("Changed n" if auto_reload else "Hello, n!")


async def test_caches_stay_bounded(tmp_path: Path) -> None:
    for i in range(1100):
        (tmp_path / f"page{i}.html").write_text(f"{i}", encoding="utf-8")
    renderer = Renderer(Application(), create_environment(tmp_path))
    for i in range(1100):
        _, headers, body = await renderer.render(f"page{i}.html")
        assert headers == [(b"content-type", HTML.encode())]
        assert [chunk async for chunk in body] == [str(i).encode()]
    for i in range(3000):
        assert renderer.content_type(f"other{i}.html") == HTML.encode()
    assert len(renderer._content_types) <= 1024
    assert len(renderer._loaded) <= 1024


async def test_an_environment_that_caches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("one", encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), cache_size=0)
    renderer = Renderer(Application(), env)
    _, _, body = await renderer.render("notes.txt")
    assert [chunk async for chunk in body] == [b"one"]
    path.write_text("two", encoding="utf-8")
    _, _, body = await renderer.render("notes.txt")
    assert [chunk async for chunk in body] == [b"two"]
    assert not renderer._loaded


async def test_the_renderer_is_found_through_the_namespaced_app_key() -> None:
    keys: list[str] = []
    apps: list[object] = []

    async def handler(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        keys.extend(key for key in scope if key.startswith("bareasgi_jinja2"))
        apps.append(scope[APP_KEY])
        return await render_template(scope, "notes.txt", {"name": "n"})

    app = plugin_app({"/t": handler})
    async with TestClient(app) as client:
        assert (await client.get("/t")).text == "Hello, n!"
    assert keys == []  # the plugin writes nothing into the scope: core's `bareasgi.app` is enough
    assert apps == [app]


# ---- the plugin shape: add_jinja2 is the plugin, no middleware ----------------------------------


@pytest.mark.parametrize("make", [plugin_app, added_app], ids=["plugin", "add_jinja2"])
async def test_jinja2_adds_no_middleware(make: Any) -> None:
    app = make()
    app.start()
    assert app.middlewares == ()
    assert app.plugin_results("bareasgi_middleware") == []
    assert app.plugin_results("bareasgi_asgi_wrapper") == []
    routes = list(app.http_router)
    assert routes
    assert all(route.call is route.handler for route in routes)  # nothing wraps a handler
    async with TestClient(app) as client:
        assert "Hello, x!" in (await client.get("/page/x")).text


async def test_add_jinja2_enables_the_plugin() -> None:
    app = added_app(enable_async=False, buffer_size=100, content_types={"txt": "text/x-notes"})
    enabled = app.plugins[PLUGIN_NAME]
    assert enabled.plugin is bareasgi_jinja2.plugin
    assert bareasgi_jinja2.plugin.name == PLUGIN_NAME
    assert enabled.options == Jinja2Options(
        directory=str(TEMPLATES),
        enable_async=False,
        buffer_size=100,
        content_types={"txt": "text/x-notes"},
    )
    renderer = jinja2_state(app)
    assert not renderer.environment.is_async
    assert renderer.buffer_size == 100
    with pytest.raises(PluginError, match="'jinja2' is enabled twice"):
        add_jinja2(app, TEMPLATES)
    app.start()
    with pytest.raises(RuntimeError, match="started"):
        add_jinja2(app, TEMPLATES)


def test_add_jinja2_and_the_plugin_build_the_same_renderer() -> None:
    options: dict[str, Any] = {
        "enable_async": False,
        "auto_reload": False,
        "chunk_size": 7,
        "buffer_size": 9,
    }
    by_name = plugin_app(**options)
    added = added_app(**options)
    assert by_name.plugins[PLUGIN_NAME].options == added.plugins[PLUGIN_NAME].options
    for app in (by_name, added):
        renderer = jinja2_state(app)
        assert (renderer.buffer_size, renderer.chunk_size) == (9, 7)
        assert not renderer.environment.auto_reload
        assert "url_for" in renderer.environment.globals


def test_the_environment_option(tmp_path: Path) -> None:
    env = create_environment(TEMPLATES, enable_async=False)
    app = Application(plugins={"jinja2": {"environment": env}})
    assert jinja2_state(app).environment is env
    with pytest.raises(PluginOptionsError, match="'directory' or option 'environment', not both"):
        Application(plugins={"jinja2": {"environment": env, "directory": str(TEMPLATES)}})
    with pytest.raises(PluginOptionsError, match="option 'environment' must be"):
        Application(plugins={"jinja2": {"environment": "templates"}})


# ---- the README ---------------------------------------------------------------------------------


async def test_the_readme_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (TEMPLATES.parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in readme.split("```python\n")[1:]]
    assert len(blocks) == 3
    monkeypatch.chdir(TEMPLATES.parent)  # the examples name the folder "templates"
    namespace: dict[str, Any] = {}
    exec(blocks[0], namespace)
    plugin_made = namespace["app"]
    exec(blocks[1], namespace)
    added = namespace["app"]
    assert added.middlewares == ()  # add_jinja2 adds no middleware
    assert jinja2_state(added) is added.plugins["jinja2"].state
    namespace["app"] = plugin_made  # the decorator example adds a route to the first app
    exec(blocks[2], namespace)
    async with TestClient(plugin_made) as client:
        assert "Hello, x!" in (await client.get("/page/x")).text
        assert "Hello, you!" in (await client.get("/hello/you")).text
        old = await client.get("/hello/old")
    assert old.status_code == 301
