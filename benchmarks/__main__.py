"""``python -m benchmarks``: the whole report. See benchmarks/README.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import scenarios, wire
from .apps import ALL, BAREASGI, RAW, Builder, Contender
from .baseline import load_baseline
from .report import (
    HELLO_FLOOR_RATIO,
    baseline_targets,
    memory_table,
    scenario_table,
    summary_table,
    targets,
    targets_section,
    wire_table,
)
from .runner import MemoryResult, Timing, run_memory, run_scenarios

SECTIONS = [s.name for s in scenarios.TIMED] + ["memory", "wire"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="bareASGI against the raw-ASGI floor and its fastest peers, in one run.",
    )
    parser.add_argument("--rounds", type=int, help="timed rounds per app and scenario (9; quick 3)")
    parser.add_argument("--batch", type=int, help="requests per timed batch (2000; quick 500)")
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds, smaller batches, no wire section"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SECTIONS,
        metavar="NAME",
        help=f"run only this section (repeatable): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--app",
        action="append",
        choices=[c.key for c in ALL if not c.is_floor],
        metavar="KEY",
        help="time only these apps besides the floor (repeatable): bareasgi, starlette, "
        "blacksheep, falcon",
    )
    wire_group = parser.add_mutually_exclusive_group()
    wire_group.add_argument("--wire", action="store_true", help="include the wire section")
    wire_group.add_argument("--no-wire", action="store_true", help="leave the wire section out")
    parser.add_argument("--wire-seconds", type=float, default=2.0, help="seconds per load run (2)")
    parser.add_argument(
        "--wire-rounds", type=int, default=5, help="load runs per server and app (5)"
    )
    parser.add_argument(
        "--wire-connections", type=int, default=8, help="keep-alive connections (8)"
    )
    parser.add_argument(
        "--wire-requests", type=int, default=200_000, help="most requests in one load run (200000)"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time the core of git revision REV (this checkout's bench app on it) in the "
        "same rounds, and judge each scenario within +0.1x of its ratio to the floor",
    )
    parser.add_argument("--progress", action="store_true", help="print each round to stderr")
    parser.add_argument(
        "--hello-limit",
        type=float,
        default=HELLO_FLOOR_RATIO,
        help=f"the hello world target: at most this many times the floor ({HELLO_FLOOR_RATIO:g});"
        " CI's smoke check uses a looser one",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed (default: exit 0)"
    )
    return parser


def _load(contenders: Sequence[Contender]) -> tuple[list[tuple[Contender, Builder]], list[str]]:
    loaded: list[tuple[Contender, Builder]] = []
    notes: list[str] = []
    for contender in contenders:
        try:
            loaded.append((contender, contender.load()))
        except ImportError as exc:
            notes.append(f"{contender.label} left out: cannot import it ({exc})")
    return loaded, notes


def _header(args: argparse.Namespace, contenders: Sequence[Contender], timed: bool) -> str:
    versions = ", ".join(
        f"{c.label.split(' ')[0]} {c.version()}" for c in contenders if not c.is_floor
    )
    lines = [
        "bareASGI benchmarks",
        f"  Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        f"  {versions}",
    ]
    if timed:
        lines.append(
            f"  in-process: {args.rounds} rounds x {args.batch} requests per app and scenario, "
            "apps interleaved per round; one asyncio loop; gc on, collected before each batch"
        )
    if BAREASGI in contenders:
        try:
            import bareasgi

            where = Path(bareasgi.__file__).resolve().parent
            lines.append(f"  bareasgi from {where}")
            if not where.is_relative_to(Path(__file__).resolve().parent.parent / "packages"):
                lines.append("  WARNING: that bareasgi is not this repository's (packages/core)")
        except ImportError:
            pass
    if sys.version_info[:2] != (3, 12):
        lines.append("  note: the targets are judged on Python 3.12; this is another version")
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    selected = set(args.scenario or SECTIONS)
    explicit = bool(args.scenario) and "wire" in args.scenario
    run_wire = not args.no_wire and (args.wire or explicit or not (args.scenario or args.quick))
    chosen = [RAW] + [c for c in ALL if not c.is_floor and (not args.app or c.key in args.app)]
    bare_selected = BAREASGI in chosen
    timed = any(s.name in selected for s in scenarios.TIMED)
    print(_header(args, chosen, timed), flush=True)
    loaded, notes = _load(chosen)
    if args.baseline is not None and bare_selected:
        try:
            baseline = load_baseline(args.baseline)
        except (ImportError, ValueError) as exc:
            notes.append(f"the baseline @{args.baseline} left out: {exc}")
        else:
            at = chosen.index(BAREASGI) + 1
            chosen.insert(at, baseline[0])
            loaded.insert(at, baseline)
            notes.append(f"the baseline: the core of {args.baseline}, timed beside this one")
    for note in notes:
        print(f"  {note}", flush=True)
    began = time.perf_counter()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    timed_scenarios = [s for s in scenarios.TIMED if s.name in selected]
    results = await run_scenarios(
        timed_scenarios, loaded, rounds=args.rounds, batch=args.batch, progress=args.progress
    )
    for result in results:
        # A framework that could not even be imported still shows in every table.
        for contender in chosen:
            if result.timing(contender.key) is None:
                result.timings.append(Timing(contender, problem="not importable"))
        result.timings.sort(key=lambda t: chosen.index(t.contender))
        print("\n" + scenario_table(result), flush=True)

    if results:
        print("\n" + summary_table(results, chosen), flush=True)

    memory: list[MemoryResult] = []
    memory_selected = "memory" in selected
    if memory_selected:
        for scenario in scenarios.MEMORY:
            for contender, builder in loaded:
                memory.append(
                    await run_memory(scenario, contender, builder, progress=args.progress)
                )
        print("\n" + memory_table(memory), flush=True)

    if run_wire:
        wire_apps = [key for key in wire.WIRE_APPS if any(c.key == key for c, _ in loaded)]
        wire_results = await wire.run(
            wire_apps,
            rounds=args.wire_rounds,
            seconds=args.wire_seconds,
            connections=args.wire_connections,
            max_requests=args.wire_requests,
            progress=args.progress,
        )
        print("\n" + wire_table(wire_results, args.wire_connections, args.wire_seconds), flush=True)

    found = targets(
        results,
        memory,
        bare_selected=bare_selected,
        memory_selected=memory_selected,
        hello_limit=args.hello_limit,
    )
    if args.baseline is not None and any(c.key == "baseline" for c in chosen):
        found += baseline_targets(results, args.baseline)
    print("\n" + targets_section(found), flush=True)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    took = f"took {time.perf_counter() - began:.0f} s"
    if load_start is not None and load_end is not None:
        took += (
            f"; load average {load_start:.2f} at the start, {load_end:.2f} at the end "
            f"(this run adds about 1; {os.cpu_count()} CPUs)"
        )
    print(f"\n({took})", flush=True)
    missed = any(t.verdict == "MISSED" for t in found)
    return 1 if args.strict and missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 9
    if args.batch is None:
        args.batch = 500 if args.quick else 2000
    if args.rounds < 1 or args.batch < 1:
        _parser().error("--rounds and --batch must be at least 1")
    if not args.hello_limit > 0:
        _parser().error("--hello-limit must be positive")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
