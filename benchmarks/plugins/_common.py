"""What the plugin benchmarks that time cases round by round share: a timed batch, the paired
comparisons of two cases, a ratio target's line, and the command line."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmarks.driver import ASGIApp, prepare, run_batch, verify
from benchmarks.runner import BATCH_TRIES, ON_CPU_SHARE
from benchmarks.scenarios import Request


class Measured(Protocol):
    """Any benchmark case: its µs per request, one sample per round, and their median (None
    when it did not run or answered wrongly)."""

    samples: list[float]

    @property
    def median(self) -> float | None: ...


@dataclass
class Sampled:
    """What every benchmark case has (a module's `Case` adds its own fields): its µs per
    request, one sample per round, and why it did not run or stopped (None while it runs)."""

    samples: list[float] = field(default_factory=list, kw_only=True)
    problem: str | None = field(default=None, kw_only=True)

    @property
    def median(self) -> float | None:
        """The median sample, or None when the case has no samples or a problem."""
        return statistics.median(self.samples) if self.samples and not self.problem else None


async def timed(
    case: Sampled,
    app: ASGIApp,
    requests: Sequence[Request],
    state: dict[str, Any],
    batch: int,
    *,
    check: bool = True,
) -> None:
    """One timed batch of ``requests`` added to ``case``'s samples (µs per request), retried as
    the harness does when the process was descheduled; with ``check``, a wrong answer is the
    case's problem instead."""
    for _ in range(BATCH_TRIES):
        exchanges = prepare(requests, 0, batch, state)
        elapsed, cpu = await run_batch(app, exchanges)
        if check:
            wrong = verify(requests, 0, exchanges)
            if wrong is not None:
                case.problem = f"wrong answer while timed: {wrong}"
                return
        if cpu >= elapsed * ON_CPU_SHARE:
            break
    case.samples.append(elapsed / batch / 1000)


def paired(case: Measured, base: Measured) -> float | None:
    """The median over rounds of ``case``'s time over ``base``'s in the same round.

    As the harness's ``paired_ratio``: the cases of a round run back to back, so a ratio taken
    within each round cancels the machine's slow phases, and the median discards the rest.
    """
    if case.median is None or base.median is None:
        return None
    pairs = zip(case.samples, base.samples, strict=False)
    return statistics.median(measured / baseline for measured, baseline in pairs)


def added(case: Measured, base: Measured) -> float | None:
    """The median over rounds of ``case``'s time minus ``base``'s in the same round (µs)."""
    if case.median is None or base.median is None:
        return None
    pairs = zip(case.samples, base.samples, strict=False)
    return statistics.median(measured - baseline for measured, baseline in pairs)


def ratio_target(
    case: Measured, base: Measured, key: str, base_key: str, limit: float
) -> tuple[str, bool]:
    """The report line of the target ``key / base_key <= limit`` (MET, MISSED or NOT RUN), and
    whether it was met."""
    ratio = paired(case, base)
    if ratio is None:
        return f"  {key} / {base_key} <= {limit}x: NOT RUN", False
    met = ratio <= limit
    verdict = "MET" if met else "MISSED"
    return f"  {key} / {base_key} = {ratio:.3f}x (target <= {limit}x): {verdict}", met


def ratio_targets(
    by_key: Mapping[str, Measured], targets: Iterable[tuple[str, str, float]]
) -> tuple[list[str], bool]:
    """The report lines of every `(key, base_key, limit)` target, and whether any was missed."""
    lines: list[str] = []
    missed = False
    for key, base, limit in targets:
        line, met = ratio_target(by_key[key], by_key[base], key, base, limit)
        missed = missed or not met
        lines.append(line)
    return lines, missed


def spread(case: Measured, digits: int = 1) -> str:
    """A case's fastest and slowest round, `min - max` µs per request."""
    return f"{min(case.samples):.{digits}f} - {max(case.samples):.{digits}f}"


def parser(prog: str) -> argparse.ArgumentParser:
    """The command line every such benchmark takes (a module adds its own options)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--rounds", type=int, default=41, help="timed rounds per case (41)")
    parser.add_argument("--batch", type=int, default=2000, help="requests per batch (2000)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 500 requests")
    parser.add_argument("--progress", action="store_true", help="print each round to stderr")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser


def rounds_and_batch(args: argparse.Namespace) -> tuple[int, int]:
    """The rounds and batch size asked for: `--quick` is 3 rounds of 500 requests."""
    return (3, 500) if args.quick else (args.rounds, args.batch)
