"""Prometheus metrics for bareASGI.

Requests counted by method, route template and status; latency to the end of the response
body; requests in progress; response body bytes. Served at `/metrics` in the text format, or
OpenMetrics when the scraper asks. Single-process mode counts in plain slots read at scrape
time; with `PROMETHEUS_MULTIPROC_DIR` set, workers share prometheus-client's mmap files.

    app = Application(plugins={"prometheus": {}})      # the plugin, by name
    metrics = add_prometheus(app)                       # or enabled from code
    metrics = prometheus_state(app)                     # either way (or from a scope)
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry

from bareasgi import Application, Scope, plugin_state

from . import plugin
from ._metrics import OTHER_METHOD, STANDARD_METHODS, UNMATCHED_ROUTE, PrometheusMetrics
from ._multiprocess import clear_multiprocess_directory
from ._options import DEFAULT_BUCKETS, MULTIPROC_DIR_VARIABLE, PrometheusOptions
from ._series import ABANDONED_STATUS, DISCONNECTED_STATUS
from .plugin import PLUGIN_NAME


def prometheus_state(target: Application | Scope) -> PrometheusMetrics:
    """The metrics of the `prometheus` plugin on an application, or on the one serving `scope`.

    Raises:
        PluginNotEnabledError: The plugin is not enabled there.
        TypeError: A plugin of another package is enabled under the name `prometheus`.
    """
    return plugin_state(target, PLUGIN_NAME, PrometheusMetrics)


def add_prometheus(
    app: Application,
    *,
    path: str = "/metrics",
    prefix: str = "bareasgi",
    buckets: Iterable[float] = DEFAULT_BUCKETS,
    exclude_paths: Iterable[str] = (),
    exclude_metrics_route: bool = True,
    multiprocess: bool | None = None,
    process_metrics: bool = True,
    gzip: bool = True,
    registry: CollectorRegistry | None = None,
) -> PrometheusMetrics:
    """Measure `app`'s requests and serve them at `path`: enable the plugin from code.

    The middleware goes where the plugin's always goes: among plugins' middleware, after the
    plugins already enabled (so inside them), and outside all of the application's own
    middleware. The metrics route is added through the router; in multiprocess mode the
    plugin's lifespan drops this worker's live gauges at shutdown, as when enabled by name.
    The options are the plugin's (see `PrometheusOptions`); `registry`, single-process only,
    is a registry of yours to expose instead of a new one.

    Returns:
        The metrics, `prometheus_state(app)`, whose `registry` takes your own metrics too.

    Raises:
        ValueError: Invalid options, naming each problem.
        RuntimeError: The application has started.
        PluginError: The `prometheus` plugin is already enabled on `app`.
    """
    options = PrometheusOptions(
        path=path,
        prefix=prefix,
        buckets=tuple(buckets),
        exclude_paths=tuple(exclude_paths),
        exclude_metrics_route=exclude_metrics_route,
        multiprocess=multiprocess,
        process_metrics=process_metrics,
        gzip=gzip,
        registry=registry,
    )
    problems = options.problems()
    if problems:  # the error this function has always raised, before the plugin's own
        raise ValueError("invalid Prometheus options: " + "; ".join(problems))
    app.plugins.enable(plugin, options)
    return prometheus_state(app)


__all__ = [
    "ABANDONED_STATUS",
    "DEFAULT_BUCKETS",
    "DISCONNECTED_STATUS",
    "MULTIPROC_DIR_VARIABLE",
    "OTHER_METHOD",
    "PLUGIN_NAME",
    "STANDARD_METHODS",
    "UNMATCHED_ROUTE",
    "PrometheusMetrics",
    "PrometheusOptions",
    "add_prometheus",
    "clear_multiprocess_directory",
    "prometheus_state",
]
