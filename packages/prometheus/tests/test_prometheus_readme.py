"""The README's examples run as printed and do what the README says; its options table
matches the options."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_helpers import families, samples, value

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer
from bareasgi.testing import TestClient
from bareasgi_prometheus import PrometheusMetrics, PrometheusOptions

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
USER_ROUTE = "/users/{user_id:int}"
# The README's table of metrics, by the names it prints with the default prefix.
DOCUMENTED = re.findall(r"^\| `bareasgi_(\w+)` \|", README.read_text(encoding="utf-8"), re.M)
TEXT = [(b"content-type", b"text/plain")]


async def user(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer(f"user {matches['user_id']:d}")


async def health(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return 200, TEXT, text_writer("ok")


def run_example(index: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    namespace: dict[str, Any] = {}
    exec(compile(EXAMPLES[index], str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Application)
    app.http_router.add({"GET"}, USER_ROUTE, user)
    app.http_router.add({"GET"}, "/health", health)
    return namespace


async def scrape_after_requests(app: Application) -> tuple[str, str]:
    """Two requests to a user route, one to `/health`, then the page and its content type."""
    async with TestClient(app) as client:
        for path in ("/users/7", "/users/8", "/health"):
            assert (await client.get(path)).status_code == 200
        page = await client.get("/metrics")
        head = await client.head("/metrics")
    assert page.status_code == 200
    assert head.status_code == 200
    return page.text, page.headers["content-type"]


def test_the_readme_has_the_two_examples_these_tests_read() -> None:
    assert len(EXAMPLES) == 2
    assert "plugins=" in EXAMPLES[0]
    assert "add_prometheus(" in EXAMPLES[1]
    assert set(DOCUMENTED) == {
        "requests_total",
        "request_duration_seconds",
        "requests_in_progress",
        "response_body_bytes_total",
    }


async def test_the_plugin_example_serves_the_documented_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = run_example(0, monkeypatch)
    registry = namespace["registry"]
    assert isinstance(registry, CollectorRegistry)
    # "add your own metrics here": they are on the same page.
    Counter("orders", "Orders taken.", registry=registry).inc(3)

    text, content_type = await scrape_after_requests(namespace["app"])
    assert content_type.startswith("text/plain; version=0.0.4")
    found = samples(families(text))
    get_user = {"method": "GET", "route": USER_ROUTE}
    assert value(found, "bareasgi_requests_total", **get_user, status="200") == 2
    assert value(found, "bareasgi_request_duration_seconds_count", **get_user) == 2
    assert value(found, "bareasgi_requests_in_progress", **get_user) == 0
    assert value(found, "bareasgi_response_body_bytes_total", **get_user) == len(b"user 7") * 2
    assert ("bareasgi_requests_in_progress", frozenset(get_user.items())) in found
    assert value(found, "orders_total") == 3
    # exclude_paths=["/health"]: measured nowhere, under any label.
    assert not [key for key in found if ("route", "/health") in key[1]]
    # Every metric of the README's table is there, under the default prefix.
    names = {family.name for family in families(text)}
    for metric in DOCUMENTED:
        assert f"bareasgi_{metric}".removesuffix("_total") in names, metric


async def test_the_add_prometheus_example_serves_the_documented_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = run_example(1, monkeypatch)
    metrics = namespace["metrics"]
    assert isinstance(metrics, PrometheusMetrics)
    assert metrics.options.prefix == "shop"

    text, content_type = await scrape_after_requests(namespace["app"])
    assert content_type.startswith("text/plain; version=0.0.4")
    found = samples(families(text))
    get_user = {"method": "GET", "route": USER_ROUTE}
    assert value(found, "shop_requests_total", **get_user, status="200") == 2
    assert value(found, "shop_request_duration_seconds_count", **get_user) == 2
    assert value(found, "shop_response_body_bytes_total", **get_user) == len(b"user 7") * 2
    assert ("shop_requests_in_progress", frozenset(get_user.items())) in found
    # No exclusions here: /health is counted like any route.
    assert value(found, "shop_requests_total", method="GET", route="/health", status="200") == 1
    assert not [key for key in found if key[0].startswith("bareasgi_")]
    names = {family.name for family in families(text)}
    for metric in DOCUMENTED:
        assert f"shop_{metric}".removesuffix("_total") in names, metric


def test_every_option_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))
    options = {field.name for field in dataclasses.fields(PrometheusOptions)}
    assert options <= rows
