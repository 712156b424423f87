"""The plugin's options: one frozen dataclass, shared by the plugin and `add_prometheus`."""

from __future__ import annotations

import itertools
import math
import os
import re
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry

from bareasgi.options import option

MULTIPROC_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess directory: set means multiprocess mode."""

DEFAULT_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5)
"""prometheus-client's default latency buckets in seconds (`+Inf` is always added)."""

_PREFIX: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*").fullmatch


@dataclass(frozen=True)
class PrometheusOptions:
    """Options of the Prometheus plugin and of `add_prometheus`."""

    path: str = option("the metrics route's path", default="/metrics")
    prefix: str = option("prefix of the metric names", default="bareasgi")
    buckets: tuple[float, ...] = option(
        "upper bounds of the latency buckets, in seconds", default=DEFAULT_BUCKETS
    )
    exclude_paths: tuple[str, ...] = option(
        "route templates (or paths of unmatched requests) not measured", default=()
    )
    exclude_metrics_route: bool = option(
        "leave requests to the metrics route out of the metrics", default=True
    )
    multiprocess: bool | None = option(
        f"share metrics between workers through ${MULTIPROC_DIR_VARIABLE}; "
        "None: when that variable is set",
        default=None,
    )
    process_metrics: bool = option(
        "add process_*, python_gc_* and python_info metrics", default=True
    )
    gzip: bool = option("gzip the metrics page when the scraper asks", default=True)
    # `option` returns a dataclasses.field (ruff cannot tell, for a type it does not know).
    registry: CollectorRegistry | None = option(  # noqa: RUF009
        "a prometheus_client CollectorRegistry of yours to expose instead of a new one "
        "(single-process mode only)",
        default=None,
    )

    def problems(self) -> list[str]:
        """What is wrong with these options, each naming the option; empty when fine."""
        found: list[str] = []
        if not self.path.startswith("/"):
            found.append(f"option 'path' must start with '/', not {self.path!r}")
        if not _PREFIX(self.prefix):
            found.append(
                f"option 'prefix' must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), "
                f"not {self.prefix!r}"
            )
        bounds = self.finite_buckets
        if not bounds:
            found.append("option 'buckets' needs at least one finite bound")
        elif any(math.isnan(bound) or math.isinf(bound) for bound in bounds) or any(
            a >= b for a, b in itertools.pairwise(bounds)
        ):
            found.append(
                "option 'buckets' must be strictly increasing finite numbers (a last +inf is "
                f"allowed), not {self.buckets!r}"
            )
        for path in self.exclude_paths:
            if not path.startswith("/"):
                found.append(f"option 'exclude_paths': {path!r} does not start with '/'")
        directory = os.environ.get(MULTIPROC_DIR_VARIABLE)
        if self.registry is not None and self.use_multiprocess:
            found.append("option 'registry': multiprocess mode builds its own registry; pass none")
        if self.multiprocess and not directory:
            found.append(
                f"option 'multiprocess' is true but ${MULTIPROC_DIR_VARIABLE} is not set "
                "(set it to an empty directory before the server starts)"
            )
        elif self.use_multiprocess and directory and not os.path.isdir(directory):
            found.append(
                f"option 'multiprocess': ${MULTIPROC_DIR_VARIABLE} is {directory!r}, which is "
                "not an existing directory (create it, empty, before the server starts)"
            )
        return found

    @property
    def finite_buckets(self) -> tuple[float, ...]:
        """The bucket bounds without a last `+Inf`."""
        bounds = tuple(float(bound) for bound in self.buckets)
        return bounds[:-1] if bounds and bounds[-1] == math.inf else bounds

    @property
    def use_multiprocess(self) -> bool:
        """Whether multiprocess mode applies: the option, or the environment when it is None."""
        if self.multiprocess is None:
            return bool(os.environ.get(MULTIPROC_DIR_VARIABLE))
        return self.multiprocess


__all__ = ["DEFAULT_BUCKETS", "MULTIPROC_DIR_VARIABLE", "PrometheusOptions"]
