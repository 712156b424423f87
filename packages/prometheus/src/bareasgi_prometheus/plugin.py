"""The `prometheus` plugin: thin glue from bareASGI's hooks to `PrometheusMetrics`.

Enable it with `Application(plugins={'prometheus': {...}})`, or from code with
`bareasgi_prometheus.add_prometheus(app, ...)`, which enables this very module; the options are
`PrometheusOptions`' fields. Handlers reach the metrics with `prometheus_state(app)` (or
`prometheus_state(scope)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from bareasgi import EnabledPlugin, HttpMiddleware, RouteSpec, hookimpl

from ._metrics import PrometheusMetrics
from ._options import PrometheusOptions

PLUGIN_NAME: Final = "prometheus"
"""The plugin's name: its entry point's, and this module's when it is passed as an object."""

name: Final = PLUGIN_NAME


def _metrics(plugin: EnabledPlugin) -> PrometheusMetrics:
    state = plugin.state
    assert isinstance(state, PrometheusMetrics)
    return state


@hookimpl
def bareasgi_options_class() -> type[Any]:
    return PrometheusOptions


@hookimpl
def bareasgi_check_options(options: PrometheusOptions) -> Iterable[str]:
    return options.problems()


@hookimpl
def bareasgi_setup(plugin: EnabledPlugin) -> None:
    plugin.state = PrometheusMetrics(plugin.options)


@hookimpl
def bareasgi_routes(plugin: EnabledPlugin) -> Iterable[RouteSpec]:
    metrics = _metrics(plugin)
    return [RouteSpec({"GET"}, metrics.options.path, metrics.endpoint)]


@hookimpl
def bareasgi_middleware(plugin: EnabledPlugin) -> HttpMiddleware:
    return _metrics(plugin).middleware


@hookimpl
def bareasgi_lifespan(plugin: EnabledPlugin) -> AbstractAsyncContextManager[None] | None:
    metrics = _metrics(plugin)
    return metrics.lifespan() if metrics.multiprocess else None
