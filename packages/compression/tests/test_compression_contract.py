"""The plugin shape: `PLUGIN_NAME`, the `compression_state` accessor for an application and a
request's scope, `add_compression` enabling the plugin itself, options checked at once, and
middleware composed through `bind_handler`."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from compression_helpers import TEXT, raw_get

import bareasgi_compression
import bareasgi_compression.plugin
from bareasgi import (
    Application,
    BindableMiddleware,
    Content,
    HttpError,
    Info,
    Matches,
    PluginError,
    PluginNotEnabledError,
    PluginOptionsError,
    Scope,
)
from bareasgi.testing import TestClient
from bareasgi_compression import (
    PLUGIN_NAME,
    Compression,
    CompressionOptions,
    add_compression,
    compression_state,
)


def test_the_name_constant_is_the_plugin_modules_name() -> None:
    assert PLUGIN_NAME == "compression"
    assert bareasgi_compression.plugin.name == PLUGIN_NAME
    assert {"PLUGIN_NAME", "CompressionOptions", "compression_state", "add_compression"} <= set(
        bareasgi_compression.__all__
    )


@pytest.mark.parametrize("way", ["by-name", "by-object", "add"])
async def test_the_state_from_the_app_and_from_a_handlers_scope(way: str) -> None:
    options: dict[str, Any] = {"encodings": ["gzip"], "minimum_size": 10}
    if way == "by-name":
        app = Application(plugins={"compression": options})
    elif way == "by-object":
        app = Application(plugins=[(bareasgi_compression.plugin, options)])
    else:
        app = Application()
        assert add_compression(app, encodings=["gzip"], minimum_size=10) is compression_state(app)
    seen: list[Compression] = []

    @app.on_http_request({"GET"}, "/")
    async def index(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        seen.append(compression_state(scope))
        return 200, [(b"content-type", b"text/plain")], TEXT

    state = compression_state(app)
    assert isinstance(state, Compression)
    assert state is app.plugins[PLUGIN_NAME].state
    assert state.options == CompressionOptions(encodings=("gzip",), minimum_size=10)
    assert state.encodings == ("gzip",)
    assert isinstance(state.middleware, BindableMiddleware)
    async with TestClient(app) as client:
        raw = await raw_get(client, "/", "br, gzip")
    assert raw.headers["content-encoding"] == "gzip"
    assert seen == [state]


def test_without_the_plugin_the_accessor_raises() -> None:
    with pytest.raises(PluginNotEnabledError):
        compression_state(Application())


def test_enabled_once() -> None:
    app = Application()
    add_compression(app)
    with pytest.raises(PluginError):
        add_compression(app)


def test_every_problem_with_the_options_at_once() -> None:
    with pytest.raises(PluginOptionsError) as raised:
        Application(
            plugins={
                "compression": {
                    "encodings": ["gzip", "deflate", "gzip"],
                    "minimum_size": -1,
                    "content_types": ["text", "Text/HTML", "+json"],
                    "gzip_level": 10,
                    "brotli_quality": 12,
                    "zstd_level": 0,
                }
            }
        )
    message = str(raised.value)
    for expected in (
        "'deflate' is not one of zstd, br, gzip",
        "names an encoding twice",
        "'minimum_size' must not be negative",
        "'text' is not a lower-case media type",
        "'Text/HTML' is not a lower-case media type",
        "'gzip_level' must be from 1 to 9",
        "'brotli_quality' must be from 0 to 11",
        "'zstd_level' must be from 1 to 22",
    ):
        assert expected in message
    assert "'+json' is not" not in message
    with pytest.raises(PluginOptionsError, match="'encodings' is empty"):
        add_compression(Application(), encodings=[])
    with pytest.raises(TypeError, match="not the string"):
        add_compression(Application(), encodings="gzip")


def test_a_coding_whose_package_is_missing_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import bareasgi_compression._codings as codings

    real = codings.optional_module
    monkeypatch.setattr(
        codings, "optional_module", lambda name: None if name == "brotli" else real(name)
    )
    state = Compression(CompressionOptions())
    assert state.encodings == ("zstd", "gzip")
    assert state.negotiate("br") is None
    assert state.negotiate("br, gzip") == "gzip"


async def test_placed_as_plugins_are_and_seeing_the_apps_own_middleware_answers() -> None:
    order: list[str] = []

    async def own(
        scope: Scope, info: Info, matches: Matches, content: Content, handler: Any
    ) -> Any:
        order.append("own")
        raise HttpError(418, TEXT, [(b"content-type", b"text/plain")])

    app = Application(middlewares=[own])
    add_compression(app)

    @app.on_http_request({"GET"}, "/")
    async def index(*_: Any) -> Any:
        return 204

    async with TestClient(app) as client:
        raw = await raw_get(client, "/", "gzip")
    assert order == ["own"]  # the app's middleware inside the plugin's
    assert raw.status == 418
    assert raw.headers["content-encoding"] == "gzip"


async def test_bare_statuses_and_odd_responses_pass_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application()
    add_compression(app, minimum_size=0)
    answers: dict[str, Any] = {
        "/bare": 204,
        "/one": (200,),
        "/two": (200, [(b"content-type", b"text/plain")]),
        "/none-headers": (200, None, TEXT),
        "/pushes": (200, [(b"content-type", b"text/plain")], TEXT, []),
        "/bad-headers": (200, [(b"content-type", "text/plain")], TEXT),
        "/not-a-response": "nonsense",
        "/bad-body": (200, [(b"content-type", b"text/plain")], 42),
    }

    async def answer(scope: Scope, info: Info, matches: Matches, content: Content) -> Any:
        return answers[scope["path"]]

    for path in answers:
        app.http_router.add({"GET"}, path, answer)
    async with TestClient(app) as client:
        got = {path: await raw_get(client, path, "gzip") for path in answers}
    assert got["/bare"].status == 204
    assert got["/one"].status == 200
    assert got["/two"].headers["content-encoding"] == "gzip"  # an empty body, minimum 0
    assert got["/none-headers"].body == TEXT
    assert got["/pushes"].headers["content-encoding"] == "gzip"
    for path in ("/bad-headers", "/not-a-response", "/bad-body"):
        assert got[path].status == 500, path  # core's refusal, as without the plugin
    assert any(r.levelno == logging.ERROR for r in caplog.records)
