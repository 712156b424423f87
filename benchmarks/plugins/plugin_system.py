"""The plugin system: a plugin that contributes nothing costs nothing per request.

``python -m benchmarks.plugins.plugin_system [--quick] [--rounds N] [--batch N] [--strict]``

The same in-process driver and interleaved rounds as ``python -m benchmarks``: hello world
and the 404 scenario, once without plugins and once with a plugin enabled that implements
setup and routes hooks but contributes no middleware (issue 3: hooks run at start-up only,
so the two must cost the same within noise). Target: the ratio within 1.05.
41 rounds by default (a few seconds): over 9, two apps running the very same code measured
0.85x to 1.14x of each other.
It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any, Final, cast

from benchmarks.apps import Builder, Contender
from benchmarks.driver import ASGIApp
from benchmarks.runner import paired_ratio, run_scenarios
from benchmarks.scenarios import HELLO_PATH, AppKind

TOLERANCE: Final = 1.05

PLAIN: Final = Contender("bareasgi", "bareASGI, no plugins", "bareasgi_app", "bareasgi")
WITH_PLUGIN: Final = Contender(
    "bareasgi+idle", "bareASGI + a plugin contributing nothing", "bareasgi_app", "bareasgi"
)


class IdlePlugin:
    """Implements hooks, contributes nothing per request."""

    name = "idle"

    def bareasgi_setup(self, plugin: Any) -> None:
        plugin.state = {"set up": True}

    def bareasgi_routes(self, plugin: Any) -> list[Any]:
        return []

    def bareasgi_middleware(self, plugin: Any) -> None:
        return None


def _bareasgi(with_plugin: bool) -> Builder:
    def build(kind: AppKind) -> ASGIApp:
        from bareasgi import Application
        from benchmarks.apps import bareasgi_app

        app = Application(plugins=[IdlePlugin()] if with_plugin else None)
        app.http_router.add({"GET"}, HELLO_PATH, bareasgi_app.hello)
        return cast(ASGIApp, app)

    return build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugins.plugin_system")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 41)
    batch = args.batch or (500 if args.quick else 2000)
    contenders = [(PLAIN, _bareasgi(False)), (WITH_PLUGIN, _bareasgi(True))]
    from benchmarks.scenarios import BY_NAME

    results = asyncio.run(
        run_scenarios(
            [BY_NAME["hello"], BY_NAME["not_found"]],
            contenders,
            rounds=rounds,
            batch=batch,
            progress=args.progress,
        )
    )
    print("bareASGI plugin system: per-request cost of an enabled plugin that adds nothing")
    missed = False
    for result in results:
        by_key = {timing.contender.key: timing for timing in result.timings}
        ratio = paired_ratio(by_key.get("bareasgi+idle"), by_key.get("bareasgi"))
        print(f"\n{result.scenario.title}")
        for timing in result.timings:
            value = f"{timing.median:8.2f}" if timing.median is not None else "  FAILED"
            print(f"  {timing.contender.label:<45} {value} µs/request")
        if ratio is not None:
            verdict = "MET" if ratio <= TOLERANCE else "MISSED"
            missed = missed or verdict == "MISSED"
            print(
                f"  {verdict}  with the plugin / without (median of per-round ratios): "
                f"{ratio:.2f}x (target <= {TOLERANCE})"
            )
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())
