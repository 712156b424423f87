"""Tables and the targets section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from .apps import BAREASGI, RAW, Contender
from .runner import MemoryResult, ScenarioResult, Timing, paired_ratio
from .wire import WireResult

HELLO_FLOOR_RATIO: Final = 2.0
ROUTES_PARAMS_RATIO: Final = 1.2
MEMORY_LIMIT_MIB: Final = 4.0
STREAMING_TARGETS: Final = (
    ("stream", "S6 stream 1 MiB (async generator)", 2.0),
    ("upload", "S8 upload 1 MiB", 1.5),
    ("events", "S9 100 small events", 2.0),
    ("ws_echo", "S10 WebSocket echo", 1.3),
)
"""Issue 13's table: (scenario, label, most times the floor). bareASGI's ratio to the floor
must also be lower than every peer's."""

Verdict = Literal["MET", "MISSED", "NOT RUN"]

_NOT_PEERS: Final = frozenset({RAW.key, BAREASGI.key, "baseline"})
"""Rows that are not peers: the floor, bareASGI, and an earlier bareASGI (`--baseline`)."""


@dataclass(frozen=True, slots=True)
class Target:
    verdict: Verdict
    name: str
    detail: str


def _ratio(value: float | None, floor: float | None) -> str:
    if value is None or floor is None or floor <= 0:
        return "-"
    return f"{value / floor:.2f}"


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}"


def _wrap(text: str, width: int = 96, indent: str = "      ") -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines)


def scenario_table(result: ScenarioResult) -> str:
    floor = result.timing(RAW.key)
    scenario = result.scenario
    out = [f"[{scenario.name}] {scenario.title}"]
    if scenario.notes:
        out.append(f"  ({scenario.notes})")
    out.append(f"  {'app':<18} {'µs/req':>9} {'x floor':>8}   {'min - max µs':<17} rounds (re-run)")
    for timing in result.timings:
        label = timing.contender.label
        if timing.problem is not None:
            out.append(f"  {label:<18} {'FAILED':>9}   {_wrap(timing.problem)}")
            continue
        median = timing.median
        if median is None:
            out.append(f"  {label:<18} {'-':>9}")
            continue
        spread = f"{min(timing.samples):.2f} - {max(timing.samples):.2f}"
        rounds = f"{len(timing.samples)}"
        if timing.retried or timing.disturbed:
            rounds += f" ({timing.retried}"
            rounds += f", {timing.disturbed} kept disturbed)" if timing.disturbed else ")"
        out.append(
            f"  {label:<18} {median:>9.2f} {_times(paired_ratio(timing, floor)):>8}"
            f"   {spread:<17} {rounds}"
        )
    return "\n".join(out)


def summary_table(results: Sequence[ScenarioResult], contenders: Sequence[Contender]) -> str:
    """All scenarios at a glance: median µs per request."""
    head = f"  {'scenario':<15}" + "".join(f"{c.label.split(' ')[0]:>12}" for c in contenders)
    out = ["summary: median µs per request", head]
    for result in results:
        cells = []
        for contender in contenders:
            timing = result.timing(contender.key)
            median = timing.median if timing is not None else None
            cells.append(f"{median:>12.2f}" if median is not None else f"{'-':>12}")
        out.append(f"  {result.scenario.name:<15}" + "".join(cells))
    return "\n".join(out)


def memory_table(results: Sequence[MemoryResult]) -> str:
    out = ["memory: peak traced memory (tracemalloc) above the level before the request, MiB"]
    for result in results:
        if result.problem is not None:
            value = f"FAILED: {result.problem}"
        elif result.peak_mib is None:
            value = "-"
        else:
            value = f"{result.peak_mib:8.2f} MiB"
        out.append(f"  {result.scenario.name:<11} {result.contender.label:<18} {value}")
    return "\n".join(out)


def wire_table(results: Sequence[WireResult], connections: int, seconds: float) -> str:
    out = [
        f"wire: hello world over 127.0.0.1, {connections} keep-alive connections, "
        f"sequential requests, {seconds:g} s per run; medians over runs",
        "  (req/CPU-s: requests per second of the server process's own CPU time, which other",
        "  work on the machine disturbs far less than requests per wall-clock second)",
        f"  {'server':<10} {'app':<18} {'req/s':>9} {'vs raw':>7} {'req/CPU-s':>10} {'vs raw':>7}"
        "   req/s of each run",
    ]
    by_pair = {(r.server, r.app): r for r in results}
    for result in results:
        label = {RAW.key: RAW.label, BAREASGI.key: BAREASGI.label}.get(result.app, result.app)
        if result.problem is not None:
            out.append(f"  {result.server:<10} {label:<18} {'FAILED':>9}   {_wrap(result.problem)}")
            continue
        raw = by_pair.get((result.server, RAW.key))
        median, per_cpu = result.median, result.median_per_cpu
        rate = f"{median:>9,.0f}" if median is not None else f"{'-':>9}"
        cpu_rate = f"{per_cpu:>10,.0f}" if per_cpu is not None else f"{'-':>10}"
        ratio = _ratio(median, raw.median if raw is not None else None)
        cpu_ratio = _ratio(per_cpu, raw.median_per_cpu if raw is not None else None)
        runs = ", ".join(f"{r:,.0f}" for r in result.rates)
        out.append(
            f"  {result.server:<10} {label:<18} {rate} {ratio:>7} {cpu_rate} {cpu_ratio:>7}"
            f"   {runs}"
        )
    return "\n".join(out)


def _timing(results: Sequence[ScenarioResult], scenario: str, key: str) -> Timing | None:
    for result in results:
        if result.scenario.name == scenario:
            return result.timing(key)
    return None


def _ran(results: Sequence[ScenarioResult], scenario: str) -> bool:
    return any(r.scenario.name == scenario for r in results)


def _why(timing: Timing | None) -> str:
    if timing is None:
        return "bareASGI did not run"
    return timing.problem or "bareASGI has no timed rounds"


def targets(
    results: Sequence[ScenarioResult],
    memory: Sequence[MemoryResult],
    *,
    bare_selected: bool,
    memory_selected: bool,
    hello_limit: float = HELLO_FLOOR_RATIO,
) -> list[Target]:
    """Each target judged on medians of ratios taken within a round (see paired_ratio)."""
    found: list[Target] = []

    # 1. Hello world within 2x the floor (or the limit given).
    name = f"bareASGI hello world within {hello_limit:g}x the floor"
    bare, floor = _timing(results, "hello", BAREASGI.key), _timing(results, "hello", RAW.key)
    ratio = paired_ratio(bare, floor)
    if not bare_selected or not _ran(results, "hello"):
        found.append(Target("NOT RUN", name, ""))
    elif ratio is None or bare is None or floor is None:
        found.append(Target("MISSED", name, _why(bare)))
    else:
        found.append(
            Target(
                "MET" if ratio <= hello_limit else "MISSED",
                name,
                f"{ratio:.2f}x (medians {bare.median:.2f} µs vs {floor.median:.2f} µs)",
            )
        )

    # 2. No peer faster than bareASGI, scenario by scenario.
    for result in results:
        scenario = result.scenario.name
        name = f"no peer faster than bareASGI: {scenario}"
        if not bare_selected:
            found.append(Target("NOT RUN", name, ""))
            continue
        bare = result.timing(BAREASGI.key)
        if bare is None or bare.median is None:
            found.append(Target("MISSED", name, _why(bare)))
            continue
        peers: list[tuple[float, str, float]] = []
        for timing in result.timings:
            if timing.contender.key in _NOT_PEERS or timing.median is None:
                continue
            peer_ratio = paired_ratio(timing, bare)
            if peer_ratio is not None:
                peers.append((peer_ratio, timing.contender.label, timing.median))
        if not peers:
            found.append(Target("NOT RUN", name, "no peer ran"))
            continue
        peers.sort()
        faster = [p for p in peers if p[0] < 1.0]
        if faster:
            detail = ", ".join(f"{label} {r:.2f}x ({m:.2f} µs)" for r, label, m in faster)
            found.append(
                Target(
                    "MISSED",
                    name,
                    f"faster, as a multiple of bareASGI's time ({bare.median:.2f} µs): {detail}",
                )
            )
        else:
            r, label, m = peers[0]
            found.append(
                Target(
                    "MET",
                    name,
                    f"fastest peer {label} takes {r:.2f}x bareASGI's time "
                    f"(medians {m:.2f} µs vs {bare.median:.2f} µs)",
                )
            )

    # 3. 1,000 routes within 1.2x of two parameters.
    name = f"bareASGI 1,000-route case within {ROUTES_PARAMS_RATIO:g}x its two-parameter case"
    routes = _timing(results, "routes", BAREASGI.key)
    params = _timing(results, "params", BAREASGI.key)
    ratio = paired_ratio(routes, params)
    if not bare_selected or not (_ran(results, "routes") and _ran(results, "params")):
        found.append(Target("NOT RUN", name, ""))
    elif ratio is None or routes is None or params is None:
        found.append(Target("MISSED", name, _why(routes if params is None else params)))
    else:
        found.append(
            Target(
                "MET" if ratio <= ROUTES_PARAMS_RATIO else "MISSED",
                name,
                f"{ratio:.2f}x (medians {routes.median:.2f} µs vs {params.median:.2f} µs)",
            )
        )

    # 4. Flat memory while streaming 256 MiB out and reading 256 MiB in.
    for scenario, what in (("stream_out", "streams 256 MiB out"), ("read_in", "reads 256 MiB in")):
        name = f"bareASGI peak memory within {MEMORY_LIMIT_MIB:g} MiB while it {what}"
        measured = next(
            (m for m in memory if m.scenario.name == scenario and m.contender.key == BAREASGI.key),
            None,
        )
        if not bare_selected or not memory_selected:
            found.append(Target("NOT RUN", name, ""))
        elif measured is None or measured.peak_mib is None or measured.problem is not None:
            problem = measured.problem if measured is not None else None
            found.append(Target("MISSED", name, problem or "bareASGI did not run"))
        else:
            found.append(
                Target(
                    "MET" if measured.peak_mib <= MEMORY_LIMIT_MIB else "MISSED",
                    name,
                    f"peak {measured.peak_mib:.2f} MiB",
                )
            )
    # 5. Issue 13: streaming, uploads, events and WebSockets near the floor and ahead of peers.
    for scenario, label, limit in STREAMING_TARGETS:
        found.append(_streaming_target(results, scenario, label, limit, bare_selected))
    return found


def _streaming_target(
    results: Sequence[ScenarioResult], scenario: str, label: str, limit: float, bare_selected: bool
) -> Target:
    """bareASGI within ``limit`` times the floor, and its ratio below every peer's."""
    name = f"bareASGI {label}: at most {limit:g}x the floor, below every peer"
    result = next((r for r in results if r.scenario.name == scenario), None)
    if not bare_selected or result is None:
        return Target("NOT RUN", name, "")
    bare, floor = result.timing(BAREASGI.key), result.timing(RAW.key)
    ratio = paired_ratio(bare, floor)
    if ratio is None or bare is None or floor is None:
        why = _why(bare) if floor is None or floor.problem is None else f"floor: {floor.problem}"
        return Target("MISSED", name, why)
    peers: list[tuple[float, str]] = []
    failed: list[str] = []
    for timing in result.timings:
        if timing.contender.key in _NOT_PEERS:
            continue
        peer_ratio = paired_ratio(timing, floor)
        if peer_ratio is None:
            if timing.problem is not None and timing.problem != "not importable":
                failed.append(timing.contender.label)
            continue
        peers.append((peer_ratio, timing.contender.label))
    peers.sort()
    not_below = [label for r, label in peers if r <= ratio]
    met = ratio <= limit and not not_below
    detail = f"{ratio:.2f}x the floor (medians {bare.median:.2f} µs vs {floor.median:.2f} µs)"
    if ratio > limit:
        detail += f", over {limit:g}x"
    if peers:
        detail += "; peers " + ", ".join(f"{label} {r:.2f}x" for r, label in peers)
    else:
        detail += "; no peer ran"
    if not_below:
        detail += f"; not below {', '.join(not_below)}"
    if failed:
        detail += f"; {', '.join(failed)} failed (not compared)"
    return Target("MET" if met else "MISSED", name, detail)


BASELINE_MARGIN: Final = 0.1
"""Issue 12's speed gate: every scenario within +0.1x of the baseline's ratio to the floor."""


def baseline_targets(results: Sequence[ScenarioResult], rev: str) -> list[Target]:
    """Per scenario, this checkout's ratio to the floor against the baseline core's
    (`--baseline REV`), both taken within the same rounds: the gate is +BASELINE_MARGIN."""
    found: list[Target] = []
    for result in results:
        floor = result.timing(RAW.key)
        base = paired_ratio(result.timing("baseline"), floor)
        now = paired_ratio(result.timing(BAREASGI.key), floor)
        name = f"{result.scenario.name} within +{BASELINE_MARGIN:g}x of the baseline @{rev}"
        if base is None or now is None:
            found.append(Target("NOT RUN", name, "a core did not run (see its table)"))
            continue
        verdict: Verdict = "MET" if now - base <= BASELINE_MARGIN else "MISSED"
        detail = f"{now:.2f}x the floor, the baseline {base:.2f}x ({now - base:+.2f}x)"
        found.append(Target(verdict, name, detail))
    return found


def targets_section(found: Sequence[Target]) -> str:
    out = ["targets (medians of within-round ratios; judged on Python 3.12)"]
    for target in found:
        text = f"{target.name}: {target.detail}" if target.detail else target.name
        out.append(f"  {target.verdict:<8} {_wrap(text, width=88, indent=' ' * 11)}")
    met = sum(t.verdict == "MET" for t in found)
    missed = sum(t.verdict == "MISSED" for t in found)
    out.append(f"  {met} met, {missed} missed, {len(found) - met - missed} not run")
    return "\n".join(out)
