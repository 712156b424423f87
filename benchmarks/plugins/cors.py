"""The CORS plugin's cost: ``python -m benchmarks.plugins.cors`` (from the repository root).

Measured with the harness's own driver (``benchmarks.driver``: fresh uvicorn-shaped scopes,
batches prepared before the clock starts, gc on and collected before each batch, every answer
verified after it), in one run, cases interleaved and their order rotated from round to round.
The figure is the median over the rounds of µs per request; ratios are paired, as the harness
takes them: the median over rounds of the ratio within each round.

Cases, all on the hello-world app of ``benchmarks.apps.bareasgi_app``:

- ``plain``: ``GET /hello-world`` carrying ``Origin: https://app.example.com``, without the plugin;
- ``cors``: the same request with ``plugins={'cors': {...}}`` allowing that origin (the answer
  gains ``access-control-allow-origin``, ``-credentials``, ``-expose-headers`` and ``vary``);
- ``preflight``: ``OPTIONS /hello-world`` with ``Origin``, ``Access-Control-Request-Method: PUT``
  and ``Access-Control-Request-Headers: content-type,x-request-id``, answered 204 by the plugin;
- for information: the hello world with the plugin allowing only the origin (no credentials or
  exposed headers); the same hello world without an Origin header, with and without the plugin;
  and ``options-floor``, the preflight request answered 204 at once by a one-line tuple
  middleware, which is the least any tuple middleware can cost: the core routes an ``OPTIONS``
  on a ``GET`` route as a 405 (a failed lookup, then the allowed methods) before middleware runs;
  and ``pass-through``, hello world behind one tuple middleware that only calls the handler,
  which is what the core's middleware chain costs any plugin.

Targets (issue 4): ``cors`` at most 1.3x ``plain``; ``preflight`` at most 1.2x ``plain``.
41 rounds by default (about 10 s): over 15 the paired ratios moved by ±0.05 from run to run.
It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bareasgi import Application, Content, HttpHandler, HttpResponse, Info, Matches, Scope
from benchmarks.apps.bareasgi_app import hello, pass_through
from benchmarks.driver import ASGIApp, Lifespan, check, prepare, run_batch
from benchmarks.plugins._common import (
    Sampled,
    paired,
    parser,
    ratio_targets,
    rounds_and_batch,
    spread,
    timed,
)
from benchmarks.scenarios import HELLO_PATH, HELLO_TEXT, Request, Scenario

ORIGIN: Final = b"https://app.example.com"
CORS_OPTIONS: Final = {
    "allow_origins": ["https://app.example.com", "https://admin.example.com"],
    "allow_methods": ["GET", "PUT", "DELETE"],
    "allow_headers": ["x-request-id"],
    "allow_credentials": True,
    "expose_headers": ["x-request-id"],
}
MINIMAL_OPTIONS: Final = {"allow_origins": ["https://app.example.com"]}
CONFIGS: Final = {
    "none": None,
    "full": CORS_OPTIONS,
    "minimal": MINIMAL_OPTIONS,
    "floor": None,
    "pass": None,
}
"""Apps by key. `floor` and `pass` have no CORS: one tuple middleware answering every OPTIONS
with 204 at once, and one pass-through tuple middleware (what any middleware costs)."""
TARGETS: Final = (("cors", "plain", 1.3), ("preflight", "plain", 1.2))
"""(case, baseline, most allowed ratio): the issue's targets, judged on the full options."""


def _hello_request(headers: tuple[tuple[bytes, bytes], ...]) -> Request:
    return Request("GET", HELLO_PATH, 200, len(HELLO_TEXT), expect_text=HELLO_TEXT, headers=headers)


WITH_ORIGIN: Final = _hello_request(((b"origin", ORIGIN),))
WITHOUT_ORIGIN: Final = _hello_request(())
PREFLIGHT: Final = Request(
    "OPTIONS",
    HELLO_PATH,
    204,
    0,
    headers=(
        (b"origin", ORIGIN),
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", b"content-type,x-request-id"),
    ),
)


async def answer_options(
    scope: Scope, info: Info, matches: Matches, content: Content, handler: HttpHandler
) -> HttpResponse:
    """The least a tuple middleware can do with a preflight: answer 204 at once."""
    if scope["method"] == "OPTIONS":
        return 204, []
    return await handler(scope, info, matches, content)


def build(config: str) -> ASGIApp:
    if config in ("floor", "pass"):
        app = Application(middlewares=[answer_options if config == "floor" else pass_through])
        app.http_router.add({"GET"}, HELLO_PATH, hello)
        return app
    options = CONFIGS[config]
    app = Application(plugins={"cors": options} if options is not None else None)
    app.http_router.add({"GET"}, HELLO_PATH, hello)
    return app


@dataclass
class Case(Sampled):
    key: str
    title: str
    config: str
    """The key of the app in CONFIGS."""
    request: Request


def cases() -> list[Case]:
    return [
        Case("plain", "hello world with Origin, no plugin", "none", WITH_ORIGIN),
        Case("cors", "hello world, allowed Origin, CORS (full options)", "full", WITH_ORIGIN),
        Case("preflight", "preflight answered by CORS (full options)", "full", PREFLIGHT),
        Case(
            "cors-minimal",
            "hello world, allowed Origin, CORS (origins only)",
            "minimal",
            WITH_ORIGIN,
        ),
        Case(
            "pass-through",
            "hello world with Origin, one pass-through middleware",
            "pass",
            WITH_ORIGIN,
        ),
        Case("options-floor", "OPTIONS answered 204 by a one-line middleware", "floor", PREFLIGHT),
        Case("plain-no-origin", "hello world without Origin, no plugin", "none", WITHOUT_ORIGIN),
        Case(
            "cors-no-origin",
            "hello world without Origin, CORS (full options)",
            "full",
            WITHOUT_ORIGIN,
        ),
    ]


async def run(rounds: int, batch: int, progress: bool) -> list[Case]:
    all_cases = cases()
    apps = {config: build(config) for config in CONFIGS}
    lifespans = {config: Lifespan(app) for config, app in apps.items()}
    for lifespan in lifespans.values():
        await lifespan.startup()
    try:
        for case in all_cases:
            app, state = apps[case.config], lifespans[case.config].state
            scenario = Scenario(case.key, case.title, "hello", (case.request,))
            problems = await check(app, scenario, state)
            if problems:
                case.problem = "; ".join(problems)
                continue
            await run_batch(app, prepare(scenario.requests, 0, max(200, batch // 2), state))
        live = [case for case in all_cases if case.problem is None]
        for round_ in range(rounds):
            shift = round_ % max(1, len(live))
            for case in live[shift:] + live[:shift]:
                if case.problem is not None:
                    continue
                state = lifespans[case.config].state
                await timed(case, apps[case.config], (case.request,), state, batch)
            if progress:
                line = ", ".join(f"{c.key} {c.samples[-1]:.2f}" for c in live if c.samples)
                print(f"  round {round_ + 1}/{rounds}: {line}", file=sys.stderr, flush=True)
    finally:
        for lifespan in lifespans.values():
            await lifespan.shutdown()
    return all_cases


def report(all_cases: Sequence[Case]) -> tuple[str, bool]:
    by_key = {case.key: case for case in all_cases}
    plain = by_key["plain"]
    lines = [
        "CORS plugin (bareasgi-cors)",
        "",
        f"{'case':<16} {'µs/req':>8}  {'min - max':>13}  {'x plain':>7}",
    ]
    for case in all_cases:
        if case.median is None:
            lines.append(f"{case.key:<16} FAILED: {case.problem}")
            continue
        ratio = paired(case, plain)
        shown = f"{ratio:.3f}" if ratio is not None else "-"
        lines.append(
            f"{case.key:<16} {case.median:>8.2f}  {spread(case, 2):>13}  {shown:>7}  {case.title}"
        )
    lines += ["", "targets (paired: the median over rounds of the ratio within each round)"]
    target_lines, missed = ratio_targets(by_key, TARGETS)
    return "\n".join(lines + target_lines), missed


def main(argv: Sequence[str] | None = None) -> int:
    args = parser("python -m benchmarks.plugins.cors").parse_args(argv)
    rounds, batch = rounds_and_batch(args)
    text, missed = report(asyncio.run(run(rounds, batch, args.progress)))
    print(text, flush=True)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
