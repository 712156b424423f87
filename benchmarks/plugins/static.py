"""Static files: bareasgi-static against Starlette's StaticFiles, in one run, in-process.

    python -m benchmarks.plugins.static [--rounds N] [--batch N] [--quick] [--progress]

Both apps are driven by the harness's own driver (`benchmarks/driver.py`: fresh uvicorn-shaped
scopes, a `receive()` that blocks until the response is complete, a `send()` that counts
bytes), batches prepared before the clock starts, apps interleaved and their order rotated
from round to round, the median over rounds of µs per request reported. The files are made in
a temporary folder at start-up: a 1 KiB and a 1 MiB file for the timed scenarios, and a
256 MiB sparse file for the memory case (peak traced memory while it is served, as the
harness measures its own memory cases). Requests carry a browser's Accept-Encoding, so
bareasgi-static looks for `.br`/`.gz` siblings (there are none) as it would in production;
Starlette ignores the header.

Targets (issue 5): bareasgi-static at least as fast as Starlette for the 1 KiB and the 1 MiB
file; peak memory flat (within 4 MiB, the harness's own bound) while 256 MiB is served.
`If-Modified-Since → 304` is timed too, for information.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from benchmarks.driver import (
    ASGIApp,
    Lifespan,
    check,
    peak_memory,
    prepare,
    run_batch,
    verify,
)
from benchmarks.scenarios import Request, Scenario

KIB: Final = 1024
MIB: Final = 1024 * KIB
BIG_SIZE: Final = 256 * MIB
MEMORY_LIMIT_MIB: Final = 4.0
BROWSER_HEADERS: Final = ((b"accept-encoding", b"gzip, deflate, br, zstd"),)
LATER: Final = b"Fri, 01 Jan 2100 00:00:00 GMT"


def _scenarios() -> tuple[Scenario, ...]:
    return (
        Scenario(
            "file_1k",
            "GET a 1 KiB file",
            "hello",
            (Request("GET", "/static/small.css", 200, KIB, headers=BROWSER_HEADERS),),
        ),
        Scenario(
            "file_1m",
            "GET a 1 MiB file",
            "hello",
            (Request("GET", "/static/large.js", 200, MIB, headers=BROWSER_HEADERS),),
        ),
        Scenario(
            "not_modified",
            "GET a 1 KiB file with If-Modified-Since -> 304 (information)",
            "hello",
            (
                Request(
                    "GET",
                    "/static/small.css",
                    304,
                    0,
                    headers=(*BROWSER_HEADERS, (b"if-modified-since", LATER)),
                ),
            ),
        ),
    )


def make_files(folder: str) -> None:
    """The files every app serves: 1 KiB, 1 MiB, and 256 MiB (sparse: no disk used)."""
    with open(os.path.join(folder, "small.css"), "wb") as file:
        file.write((b"body { color: #333; }\n" * 50)[:KIB])
    with open(os.path.join(folder, "large.js"), "wb") as file:
        file.write(bytes(range(256)) * (MIB // 256))
    with open(os.path.join(folder, "big.bin"), "wb") as file:
        file.truncate(BIG_SIZE)


def build_bareasgi(folder: str) -> ASGIApp:
    from bareasgi import Application

    app: ASGIApp = Application(plugins={"static": {"directory": folder, "mount": "/static"}})
    return app


def build_starlette(folder: str) -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    app: ASGIApp = Starlette(routes=[Mount("/static", app=StaticFiles(directory=folder))])
    return app


CONTENDERS: Final[tuple[tuple[str, Callable[[str], ASGIApp]], ...]] = (
    ("bareasgi-static", build_bareasgi),
    ("starlette", build_starlette),
)


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)
    problem: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples and not self.problem else None


def _elapsed_ns(result: Any) -> int:
    # The driver returns wall-clock nanoseconds, or (wall, cpu) in newer versions.
    return int(result[0] if isinstance(result, tuple) else result)


async def _time_scenario(
    scenario: Scenario,
    apps: Sequence[tuple[str, ASGIApp, Lifespan]],
    rounds: int,
    batch: int,
    progress: bool,
) -> list[Timing]:
    timings = [Timing(name) for name, _, _ in apps]
    for timing, (_, app, lifespan) in zip(timings, apps, strict=True):
        problems = await check(app, scenario, lifespan.state)
        if problems:
            timing.problem = "; ".join(problems)
            continue
        await run_batch(app, prepare(scenario.requests, 0, max(100, batch // 2), lifespan.state))
    for round_ in range(rounds):
        order = list(range(len(apps)))
        shift = round_ % len(order)
        for index in order[shift:] + order[:shift]:
            timing = timings[index]
            if timing.problem is not None:
                continue
            _, app, lifespan = apps[index]
            exchanges = prepare(scenario.requests, 0, batch, lifespan.state)
            elapsed = _elapsed_ns(await run_batch(app, exchanges))
            wrong = verify(scenario.requests, 0, exchanges)
            if wrong is not None:
                timing.problem = f"wrong answer while timed: {wrong}"
                continue
            timing.samples.append(elapsed / batch / 1000)
        if progress:
            print(
                f"  {scenario.name} round {round_ + 1}: "
                + ", ".join(f"{t.name} {t.samples[-1]:.1f}" for t in timings if t.samples),
                file=sys.stderr,
                flush=True,
            )
    return timings


async def run(rounds: int, batch: int, progress: bool) -> int:
    """Time the scenarios, measure memory, print the tables and targets; 1 if one is missed."""
    missed = False
    with tempfile.TemporaryDirectory(prefix="bench-static-") as folder:
        make_files(folder)
        apps: list[tuple[str, ASGIApp, Lifespan]] = []
        for name, build in CONTENDERS:
            try:
                app = build(folder)
            except ImportError as error:
                print(f"{name}: not installed ({error})")
                continue
            lifespan = Lifespan(app)
            await lifespan.startup()
            apps.append((name, app, lifespan))
        try:
            results = [
                (scenario, await _time_scenario(scenario, apps, rounds, batch, progress))
                for scenario in _scenarios()
            ]
            big = Request("GET", "/static/big.bin", 200, BIG_SIZE, headers=BROWSER_HEADERS)
            memory: list[tuple[str, float | None, str]] = []
            for name, app, lifespan in apps:
                try:
                    peak, exchange = await peak_memory(app, big, lifespan.state)
                except Exception as error:
                    memory.append((name, None, repr(error)))
                    continue
                ok = exchange.complete and exchange.size == BIG_SIZE
                memory.append((name, peak, "" if ok else f"incomplete: {exchange.size} bytes"))
        finally:
            for _, _, lifespan in apps:
                await lifespan.shutdown()

    print(f"\nStatic files, in-process: median µs per request over {rounds} rounds of {batch}")
    print(f"{'scenario':<14} {'app':<16} {'median':>9} {'min - max':>17}  starlette / this")
    medians: dict[tuple[str, str], float] = {}
    for scenario, timings in results:
        base = next((t.median for t in timings if t.name == "starlette"), None)
        for timing in timings:
            if timing.median is None:
                print(f"{scenario.name:<14} {timing.name:<16} FAILED: {timing.problem}")
                continue
            medians[scenario.name, timing.name] = timing.median
            spread = f"{min(timing.samples):.1f} - {max(timing.samples):.1f}"
            ratio = f"{base / timing.median:.2f}x" if base and timing.name != "starlette" else ""
            print(
                f"{scenario.name:<14} {timing.name:<16} {timing.median:>9.1f} {spread:>17}  {ratio}"
            )

    print("\nPeak traced memory while one 256 MiB file is served (MiB above the start)")
    for name, peak_mib, problem in memory:
        shown_peak = "FAILED" if peak_mib is None else f"{peak_mib:.2f}"
        print(f"{name:<16} {shown_peak:>8} {problem}")

    print("\nTargets")
    for scenario_name, label in (("file_1k", "1 KiB file"), ("file_1m", "1 MiB file")):
        ours = medians.get((scenario_name, "bareasgi-static"))
        theirs = medians.get((scenario_name, "starlette"))
        if ours is None or theirs is None:
            print(f"  NOT RUN  {label}: at least as fast as Starlette")
            missed = True
            continue
        met = ours <= theirs
        missed |= not met
        print(
            f"  {'MET' if met else 'MISSED':<7}  {label}: at least as fast as Starlette "
            f"({ours:.1f} µs vs {theirs:.1f} µs, {theirs / ours:.2f}x)"
        )
    ours_memory = next((mib for name, mib, _ in memory if name == "bareasgi-static"), None)
    met = ours_memory is not None and ours_memory <= MEMORY_LIMIT_MIB
    missed |= not met
    shown = "failed" if ours_memory is None else f"{ours_memory:.2f} MiB"
    print(
        f"  {'MET' if met else 'MISSED':<7}  peak memory flat while 256 MiB is served "
        f"(within {MEMORY_LIMIT_MIB:.0f} MiB): {shown}"
    )
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugins.static")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (7; quick 3)")
    parser.add_argument("--batch", type=int, default=None, help="requests per batch (1000; 200)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    batch = args.batch or (200 if args.quick else 1000)
    code = asyncio.run(run(rounds, batch, args.progress))
    return code if args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
