"""The `cors` plugin: enabled by name through its entry point, options checked at construction."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from cors_helpers import EVIL, GOOD, build_app, cors_headers, preflight, vary_tokens

import bareasgi_cors.plugin
from bareasgi import (
    Application,
    Content,
    EnabledPlugin,
    HttpHandler,
    HttpResponse,
    Info,
    Matches,
    PluginNotEnabledError,
    PluginOptionsError,
    Scope,
)
from bareasgi.__main__ import list_plugins
from bareasgi.plugins import installed_plugins
from bareasgi.testing import TestClient
from bareasgi.types import HttpMiddleware
from bareasgi_cors import CorsPolicy, cors_state


def test_the_entry_point_is_installed_and_names_the_plugin_module() -> None:
    entry_point = installed_plugins()["cors"]
    assert entry_point.value == "bareasgi_cors.plugin"
    assert entry_point.load() is bareasgi_cors.plugin


async def test_the_plugin_answers_like_the_function() -> None:
    options = {
        "allow_origins": [GOOD],
        "allow_methods": ["PUT"],
        "allow_headers": ["x-custom"],
        "allow_credentials": True,
        "expose_headers": ["x-visible"],
        "max_age": 60,
    }
    answers = []
    for plugin in (True, False):
        app, reached = build_app(plugin=plugin, **options)
        async with TestClient(app) as client:
            actual = await client.get("/things", headers={"origin": GOOD})
            refused = await client.get("/things", headers={"origin": EVIL})
            allowed = await preflight(client, method="PUT", headers="x-custom")
            denied = await preflight(client, method="DELETE")
        assert reached == ["GET /things", "GET /things"]
        answers.append(
            [
                (r.status_code, cors_headers(r), vary_tokens(r), r.text)
                for r in (actual, refused, allowed, denied)
            ]
        )
    assert answers[0] == answers[1]
    assert answers[0][0][1]["access-control-allow-origin"] == GOOD


def test_the_state_is_the_policy_reached_through_the_accessor() -> None:
    app = Application(plugins={"cors": {"allow_origins": [GOOD]}})
    policy = cors_state(app)
    assert isinstance(policy, CorsPolicy)
    assert policy is app.plugins["cors"].state
    assert policy.allows_origin(GOOD)
    assert policy.options.allow_origins == (GOOD,)
    assert app.info == {}  # nothing kept in the user's info


def test_the_accessor_without_the_plugin() -> None:
    with pytest.raises(PluginNotEnabledError, match="'cors' plugin is not enabled"):
        cors_state(Application())


def test_star_with_credentials_is_refused_at_construction() -> None:
    with pytest.raises(PluginOptionsError) as raised:
        Application(plugins={"cors": {"allow_origins": ["*"], "allow_credentials": True}})
    message = str(raised.value)
    assert "plugin 'cors'" in message
    assert "'*' cannot be used with allow_credentials=True" in message


def test_every_problem_is_reported_at_once_naming_the_plugin() -> None:
    with pytest.raises(PluginOptionsError) as raised:
        Application(
            plugins={
                "cors": {
                    "allow_origins": "https://good.example.com",  # a string, not a list
                    "max_age": "600",
                    "allow_method": ["GET"],
                }
            }
        )
    message = str(raised.value)
    assert "option 'allow_origins' must be a list of str" in message
    assert "option 'max_age' must be int or None" in message
    assert "unknown option 'allow_method'" in message


def test_semantic_problems_are_reported_by_check_options() -> None:
    with pytest.raises(PluginOptionsError) as raised:
        Application(plugins={"cors": {"allow_origins": ["https://good.example.com/"]}})
    assert "plugin 'cors': option 'allow_origins': 'https://good.example.com/' has a path" in str(
        raised.value
    )


def test_the_cli_lists_the_options_with_their_meaning() -> None:
    out = io.StringIO()
    list_plugins(out)
    text = out.getvalue()
    assert "cors  (" in text
    for option in (
        "allow_origins",
        "allow_origin_regex",
        "allow_methods",
        "allow_headers",
        "allow_credentials",
        "expose_headers",
        "max_age",
        "allow_private_network",
        "guard_websockets",
    ):
        assert option in text
    assert "seconds a browser may cache a preflight's answer" in text


class Recorder:
    """A local plugin whose middleware records the methods it sees."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def bareasgi_middleware(self, plugin: EnabledPlugin) -> HttpMiddleware:
        async def middleware(
            scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
        ) -> HttpResponse:
            self.seen.append(scope["method"])
            return await handler(scope, info, matches, content)

        return middleware


@pytest.mark.parametrize("cors_first", [True, False])
async def test_the_plugin_sits_at_the_users_position(cors_first: bool) -> None:
    recorder = Recorder()
    cors: tuple[str, dict[str, Any]] = ("cors", {"allow_origins": [GOOD]})
    app = Application(plugins=[cors, recorder] if cors_first else [recorder, cors])

    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200

    app.http_router.add({"GET"}, "/", hello)
    async with TestClient(app) as client:
        answered = await preflight(client, "/", method="GET")
        actual = await client.get("/", headers={"origin": GOOD})
    assert answered.status_code == 204
    assert actual.headers["access-control-allow-origin"] == GOOD
    # Outermost, CORS answers the preflight before the recorder sees it; inside, after.
    assert recorder.seen == (["GET"] if cors_first else ["OPTIONS", "GET"])


def test_a_wrapper_only_when_websockets_are_guarded() -> None:
    without = Application(plugins={"cors": {"allow_origins": [GOOD]}})
    with_guard = Application(plugins={"cors": {"allow_origins": [GOOD], "guard_websockets": True}})
    assert without.plugin_results("bareasgi_asgi_wrapper") == []
    [(plugin, wrapper)] = with_guard.plugin_results("bareasgi_asgi_wrapper")
    assert plugin.name == "cors"
    assert wrapper == cors_state(with_guard).websocket_guard


def test_the_readme_examples_run() -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        namespace: dict[str, Any] = {}
        exec(compile(block, str(readme), "exec"), namespace)
        app = namespace["app"]
        assert isinstance(app, Application)
    policy = namespace["policy"]
    assert isinstance(policy, CorsPolicy)
    assert policy.allows_origin("https://app.example.com")
    assert policy.options.max_age == 3600
