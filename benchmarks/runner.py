"""Runs the in-process scenarios and the memory cases; returns plain results for the report."""

from __future__ import annotations

import asyncio
import statistics
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from .apps import Builder, Contender
from .driver import ASGIApp, Lifespan, check, peak_memory, prepare, run_batch, verify
from .scenarios import Scenario

BATCH_TIMEOUT: Final = 300.0
"""Seconds one batch may take before the app is called hung (the timing is unaffected)."""
ON_CPU_SHARE: Final = 0.9
"""A batch whose process CPU time is under this share of its wall-clock time was disturbed
(the process was descheduled for other work on the machine) and is run again."""
BATCH_TRIES: Final = 2


@dataclass
class Timing:
    """One contender's rounds in one scenario (µs per request, one value per round)."""

    contender: Contender
    samples: list[float] = field(default_factory=list)
    problem: str | None = None
    by_round: dict[int, float] = field(default_factory=dict)
    """The same samples by round number, for ratios taken within a round."""
    retried: int = 0
    """Batches run again because the process was off the CPU for part of them."""
    disturbed: int = 0
    """Samples kept although still disturbed after every retry."""

    @property
    def median(self) -> float | None:
        if self.problem is not None or not self.samples:
            return None
        return statistics.median(self.samples)


def paired_ratio(a: Timing | None, b: Timing | None) -> float | None:
    """The median over rounds of ``a``'s time divided by ``b``'s in the same round.

    The apps of one round run back to back, so they share whatever state the machine is in
    (a shared VM goes through slow phases that no process can see); a ratio taken within each
    round cancels most of it, and the median discards the rest.
    """
    if a is None or b is None or a.problem is not None or b.problem is not None:
        return None
    rounds = a.by_round.keys() & b.by_round.keys()
    if not rounds:
        return None
    return statistics.median(a.by_round[r] / b.by_round[r] for r in rounds)


@dataclass
class ScenarioResult:
    scenario: Scenario
    timings: list[Timing]

    def timing(self, key: str) -> Timing | None:
        return next((t for t in self.timings if t.contender.key == key), None)


@dataclass
class MemoryResult:
    scenario: Scenario
    contender: Contender
    peak_mib: float | None
    problem: str | None = None


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


async def _start(builder: Builder, scenario: Scenario) -> tuple[ASGIApp, Lifespan]:
    app = builder(scenario.kind)
    lifespan = Lifespan(app)
    await lifespan.startup()
    return app, lifespan


@dataclass
class _Live:
    """An app that passed its check and warm-up, ready for timed batches."""

    timing: Timing
    app: ASGIApp
    lifespan: Lifespan
    cursor: int = 0
    """Where in the scenario's requests the next batch starts: every batch (the warm-up
    included) carries on where the last one stopped, so the app cycles through all the
    distinct paths in order and any per-path cache smaller than their number always misses."""


async def _prepare(
    scenario: Scenario, contenders: Sequence[tuple[Contender, Builder]], batch: int
) -> tuple[ScenarioResult, list[_Live]]:
    """Build, start, check and warm up every app for one scenario."""
    timings: list[Timing] = []
    live: list[_Live] = []
    for contender, builder in contenders:
        timing = Timing(contender)
        timings.append(timing)
        try:
            app, lifespan = await _start(builder, scenario)
        except Exception as exc:
            timing.problem = f"could not build or start: {_error(exc)}"
            continue
        problems = await check(app, scenario, lifespan.state)
        if problems:
            timing.problem = "wrong answer: " + "; ".join(problems)
            await lifespan.shutdown()
            continue
        warm_count = max(200, batch // 2)
        try:
            warm = prepare(scenario.requests, 0, warm_count, lifespan.state)
            await asyncio.wait_for(run_batch(app, warm), BATCH_TIMEOUT)
        except Exception as exc:
            timing.problem = f"failed while warming up: {_error(exc)}"
            await lifespan.shutdown()
            continue
        live.append(_Live(timing, app, lifespan, warm_count % len(scenario.requests)))
    return ScenarioResult(scenario, timings), live


async def _timed(scenario: Scenario, live: _Live, round_: int, batch: int) -> None:
    """One timed batch; records µs per request, or the problem that disqualifies the app."""
    timing = live.timing
    requests = scenario.requests
    for attempt in range(1, BATCH_TRIES + 1):
        start = live.cursor
        live.cursor = (start + batch) % len(requests)
        exchanges = prepare(requests, start, batch, live.lifespan.state)
        try:
            elapsed, cpu = await asyncio.wait_for(run_batch(live.app, exchanges), BATCH_TIMEOUT)
        except TimeoutError:
            timing.problem = f"a batch took longer than {BATCH_TIMEOUT:.0f} s"
            return
        except Exception as exc:
            timing.problem = f"raised while timed: {_error(exc)}"
            return
        wrong = verify(requests, start, exchanges)
        if wrong is not None:
            timing.problem = f"wrong answer while timed: {wrong}"
            return
        if cpu >= elapsed * ON_CPU_SHARE:
            break
        if attempt < BATCH_TRIES:
            timing.retried += 1
        else:
            timing.disturbed += 1
    per_request = elapsed / batch / 1000
    timing.samples.append(per_request)
    timing.by_round[round_] = per_request


async def run_scenarios(
    scenarios: Sequence[Scenario],
    contenders: Sequence[tuple[Contender, Builder]],
    *,
    rounds: int,
    batch: int,
    progress: bool,
) -> list[ScenarioResult]:
    """Check and warm up every app of every scenario, then time ``rounds`` rounds.

    A round runs one batch per app of every scenario, apps interleaved and their order rotated
    from round to round. Rounds are the outer loop, so each scenario's samples are spread over
    the whole run and a burst of load from elsewhere on the machine spoils one round of each
    scenario rather than every round of one.
    """
    results: list[ScenarioResult] = []
    lives: list[list[_Live]] = []
    try:
        for scenario in scenarios:
            result, live = await _prepare(scenario, contenders, batch)
            results.append(result)
            lives.append(live)
            _say(progress, f"  {scenario.name}: checked and warmed up")
        for round_ in range(rounds):
            for result, live in zip(results, lives, strict=True):
                shift = round_ % max(1, len(live))
                for each in live[shift:] + live[:shift]:
                    if each.timing.problem is None:
                        await _timed(result.scenario, each, round_, batch)
                _say(
                    progress,
                    f"  round {round_ + 1}/{rounds} {result.scenario.name}: "
                    + ", ".join(
                        f"{each.timing.contender.key} {each.timing.samples[-1]:.2f}"
                        for each in live
                        if each.timing.samples and each.timing.problem is None
                    ),
                )
    finally:
        for live in lives:
            for each in live:
                await each.lifespan.shutdown()
    return results


async def run_memory(
    scenario: Scenario, contender: Contender, builder: Builder, *, progress: bool
) -> MemoryResult:
    """Peak traced memory while the app serves the scenario's one large request."""
    request = scenario.requests[0]
    try:
        app, lifespan = await _start(builder, scenario)
    except Exception as exc:
        return MemoryResult(scenario, contender, None, f"could not build or start: {_error(exc)}")
    try:
        peak, exchange = await peak_memory(app, request, lifespan.state)
    except Exception as exc:
        return MemoryResult(scenario, contender, None, f"raised: {_error(exc)}")
    finally:
        await lifespan.shutdown()
    problem = None
    if not exchange.complete or exchange.status != request.status:
        problem = f"status {exchange.status}, complete {exchange.complete}"
    elif request.size is not None and exchange.size != request.size:
        problem = f"{exchange.size} bytes, expected {request.size}"
    _say(progress, f"  {scenario.name}: {contender.key} peak {peak:.2f} MiB")
    return MemoryResult(scenario, contender, peak, problem)
