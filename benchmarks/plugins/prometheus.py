"""bareasgi-prometheus: what the metrics middleware costs, measured as the harness measures.

``python -m benchmarks.plugins.prometheus [--quick] [--rounds N] [--batch N] [--progress]``

The same in-process driver and interleaved rounds as ``python -m benchmarks`` (see
benchmarks/README.md), in one run:

- ``bareasgi``: hello world without metrics; ``bareasgi+prometheus``: the same app with
  ``plugins={'prometheus': {'multiprocess': False}}`` (single-process mode);
- ``starlette`` and ``starlette+exporter``: Starlette's hello world without and with
  starlette-exporter's ``PrometheusMiddleware`` (left out, and its target NOT RUN, when
  starlette or starlette-exporter is not installed);
- the 404 scenario (distinct unmatched paths) and the 1 MiB stream with and without metrics,
  for information.

Multiprocess mode needs ``PROMETHEUS_MULTIPROC_DIR`` set before prometheus-client is imported,
so it runs in a child process of its own (a fresh, emptied directory), with its own
no-metrics baseline in the same run; it is reported, not held to a target.

Targets (issue 6; single-process mode, hello world):
1. with the middleware at most 1.5x without it (the median over rounds of the ratio within
   each round, as the harness judges its targets);
2. what the middleware adds is less than what starlette-exporter adds to Starlette.
It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, Final, cast

from benchmarks.apps import Builder, Contender
from benchmarks.driver import ASGIApp
from benchmarks.runner import paired_ratio, run_scenarios
from benchmarks.scenarios import BY_NAME, HELLO_PATH, STREAM_PATH, AppKind

RATIO_TARGET: Final = 1.5
CHILD_FLAG: Final = "--multiprocess-child"

PLAIN: Final = Contender("bareasgi", "bareASGI", "bareasgi_app", "bareasgi")
WITH_METRICS: Final = Contender(
    "bareasgi+prometheus", "bareASGI + prometheus", "bareasgi_app", "bareasgi-prometheus"
)
WITH_SHARED_METRICS: Final = Contender(
    "bareasgi+prometheus(mp)",
    "bareASGI + prometheus, multiprocess",
    "bareasgi_app",
    "bareasgi-prometheus",
)
STARLETTE: Final = Contender("starlette", "Starlette", "starlette_app", "starlette")
STARLETTE_EXPORTER: Final = Contender(
    "starlette+exporter", "Starlette + starlette-exporter", "starlette_app", "starlette-exporter"
)


def _bareasgi(plugins: dict[str, Any] | None) -> Builder:
    def build(kind: AppKind) -> ASGIApp:
        from bareasgi import Application
        from benchmarks.apps import bareasgi_app

        app = Application(plugins=plugins)
        if kind == "stream":
            app.http_router.add({"GET"}, STREAM_PATH, bareasgi_app.stream)
        else:
            app.http_router.add({"GET"}, HELLO_PATH, bareasgi_app.hello)
        return cast(ASGIApp, app)

    return build


def _starlette(exporter: bool) -> Builder:
    def build(kind: AppKind) -> ASGIApp:
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.routing import Route

        from benchmarks.apps import starlette_app

        middleware = []
        if exporter:
            from starlette_exporter import (  # type: ignore[import-not-found,unused-ignore]
                PrometheusMiddleware,
            )

            middleware.append(Middleware(PrometheusMiddleware, app_name="bench"))
        if kind == "stream":
            routes = [Route(STREAM_PATH, starlette_app.stream)]
        else:
            routes = [Route(HELLO_PATH, starlette_app.hello)]
        return cast(ASGIApp, Starlette(routes=routes, middleware=middleware))

    return build


def _importable(*modules: str) -> str | None:
    """None when every module imports; else why not."""
    for module in modules:
        try:
            __import__(module)
        except ImportError as exc:
            return f"{module} is not installed ({exc})"
    return None


async def _run(
    names: Sequence[str],
    contenders: Sequence[tuple[Contender, Builder]],
    rounds: int,
    batch: int,
    progress: bool,
    paired: dict[str, float | None] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Median µs per request, by scenario and contender key (None when it failed).

    `paired`, when given, gets the hello world's paired ratio with metrics to without (the
    median over rounds of the ratio within each round, as the harness judges its targets).
    """
    medians: dict[str, dict[str, float | None]] = {}
    results = await run_scenarios(
        [BY_NAME[name] for name in names],
        contenders,
        rounds=rounds,
        batch=batch,
        progress=progress,
    )
    for result in results:
        name = result.scenario.name
        medians[name] = {}
        for timing in result.timings:
            medians[name][timing.contender.key] = timing.median
            if timing.problem:
                print(f"  {name}: {timing.contender.label} FAILED: {timing.problem}")
        if paired is not None:
            paired[name] = paired_ratio(result.timing(WITH_METRICS.key), result.timing(PLAIN.key))
    return medians


def _multiprocess(rounds: int, batch: int, progress: bool) -> dict[str, Any]:
    """Run the multiprocess contenders in a child with a fresh multiprocess directory."""
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        command = [
            sys.executable,
            "-m",
            "benchmarks.plugins.prometheus",
            CHILD_FLAG,
            "--rounds",
            str(rounds),
            "--batch",
            str(batch),
        ]
        if progress:
            command.append("--progress")
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return {"error": done.stderr[-2000:] or done.stdout[-2000:]}
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer


def _fmt(value: float | None) -> str:
    return f"{value:8.2f}" if value is not None else "  FAILED"


def _table(medians: dict[str, dict[str, float | None]], labels: dict[str, str]) -> None:
    for name, row in medians.items():
        print(f"\n{BY_NAME[name].title if name != 'stream' else '1 MiB stream (64 KiB chunks)'}")
        print(f"  {'app':<40} {'µs/request':>10}")
        for key, value in row.items():
            print(f"  {labels.get(key, key):<40} {_fmt(value):>10}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugins.prometheus")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--no-multiprocess", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    batch = args.batch or (500 if args.quick else 2000)

    if args.multiprocess_child:
        contenders = [
            (PLAIN, _bareasgi(None)),
            (WITH_SHARED_METRICS, _bareasgi({"prometheus": {"multiprocess": True}})),
        ]
        medians = asyncio.run(_run(["hello"], contenders, rounds, batch, args.progress))
        print(json.dumps(medians["hello"]))
        return 0

    contenders = [
        (PLAIN, _bareasgi(None)),
        (WITH_METRICS, _bareasgi({"prometheus": {"multiprocess": False}})),
    ]
    starlette_missing = _importable("starlette")
    exporter_missing = starlette_missing or _importable("starlette_exporter")
    if not starlette_missing:
        contenders.append((STARLETTE, _starlette(False)))
    if not exporter_missing:
        contenders.append((STARLETTE_EXPORTER, _starlette(True)))
    labels = {c.key: c.label for c, _ in contenders}
    labels[WITH_SHARED_METRICS.key] = WITH_SHARED_METRICS.label
    print(
        f"bareasgi-prometheus overhead: {rounds} rounds of {batch} requests, in-process driver "
        f"(Python {sys.version.split()[0]})"
    )
    paired: dict[str, float | None] = {}
    hello_and_404 = asyncio.run(
        _run(["hello", "not_found"], contenders, rounds, batch, args.progress, paired)
    )
    stream = asyncio.run(_run(["stream"], contenders[:2], rounds, max(50, batch // 20), False))
    _table({**hello_and_404, **stream}, labels)

    shared: dict[str, Any] = {}
    if not args.no_multiprocess:
        shared = _multiprocess(rounds, batch, args.progress)
        print("\nhello world, multiprocess mode (child process, own baseline)")
        if "error" in shared:
            print(f"  FAILED: {shared['error']}")
        else:
            for key, value in shared.items():
                print(f"  {labels.get(key, key):<40} {_fmt(value):>10}")

    missed = False
    hello = hello_and_404["hello"]
    plain, metered = hello.get(PLAIN.key), hello.get(WITH_METRICS.key)
    print("\nTargets (single-process mode, hello world; ratios paired within rounds)")
    ratio = paired.get("hello")
    if plain and metered and ratio is not None:
        verdict = "MET" if ratio <= RATIO_TARGET else "MISSED"
        missed |= verdict == "MISSED"
        print(
            f"  {verdict:<7} with metrics / without = {ratio:.2f}x (target <= {RATIO_TARGET}x; "
            f"medians {metered:.2f} µs and {plain:.2f} µs)"
        )
    else:
        missed = True
        print("  FAILED  the bareASGI hello world did not run")
    bare_added = metered - plain if plain and metered else None
    if exporter_missing:
        print(f"  NOT RUN starlette-exporter comparison: {exporter_missing}")
    else:
        s_plain, s_metered = hello.get(STARLETTE.key), hello.get(STARLETTE_EXPORTER.key)
        if bare_added is not None and s_plain and s_metered:
            starlette_added = s_metered - s_plain
            verdict = "MET" if bare_added < starlette_added else "MISSED"
            missed |= verdict == "MISSED"
            print(
                f"  {verdict:<7} bareasgi-prometheus adds {bare_added:.2f} µs; starlette-exporter "
                f"adds {starlette_added:.2f} µs to Starlette ({s_plain:.2f} -> {s_metered:.2f})"
            )
        else:
            missed = True
            print("  FAILED  the Starlette comparison did not run")
    if shared and "error" not in shared:
        s_plain, s_shared = shared.get(PLAIN.key), shared.get(WITH_SHARED_METRICS.key)
        if s_plain and s_shared:
            print(
                f"  REPORT  multiprocess mode: {s_shared:.2f} µs / {s_plain:.2f} µs = "
                f"{s_shared / s_plain:.2f}x (no target)"
            )
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
