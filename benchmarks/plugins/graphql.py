"""The GraphQL plugin against Strawberry and Ariadne: ``python -m benchmarks.plugins.graphql``.

Measured with the harness's own driver (``benchmarks.driver``: fresh uvicorn-shaped scopes,
batches prepared before the clock starts, gc on and collected before each batch, every answer
checked once and every status verified after each batch), in one run, cases interleaved and
their order rotated from round to round. The figure is the median over the rounds of µs per
request; ratios are paired: the median over rounds of the ratio within each round.

The same graphql-core 3.3 schema and resolvers serve every app (`SCHEMA` below: `hello`, and
a `node` with ten scalar fields and a `child` of the same type); Strawberry's `Schema` is made
from equivalent types and then given this very graphql-core schema to run (`_schema`), so all
three validate and execute the same thing and differ only in what the framework does around
graphql-core. Each app with its defaults; POST `application/json` to `/graphql`:

- ``bareasgi``: `add_graphql(app, SCHEMA)` (the LRU of parsed and validated documents, limits);
- ``ariadne``: `ariadne.asgi.GraphQL(SCHEMA)`;
- ``strawberry``: `strawberry.asgi.GraphQL(schema)`;
- ``strawberry-cached``: the same with Strawberry's `ParserCache` and `ValidationCache`
  extensions.

Cases: ``hello`` (`{ hello }` repeated), ``nested`` (a 20-field query two levels deep,
repeated), ``first-seen`` (`query Q<n> { hello }`, never the same document twice: every
request parses and validates).

Targets (issue 15): a repeated small query at most 1/10 of Ariadne's and of Strawberry's time
per request (also reported against Strawberry with its caches: must still be faster); a
first-seen query no slower than either peer; memory flat over 5x the LRU's size in distinct
queries (peak RSS growth under 20 MiB, measured first, in this process, before any timing).
Subscription events per second: ``benchmarks.plugins.graphql_subscriptions``.
It exits 0 whatever it finds, unless ``--strict``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from bareasgi import Application
from benchmarks.driver import ASGIApp, Lifespan, check, prepare, run_batch, verify
from benchmarks.plugins._common import Sampled, paired, spread
from benchmarks.runner import BATCH_TRIES, ON_CPU_SHARE
from benchmarks.scenarios import Request, Scenario

PATH: Final = "/graphql"
FIELDS: Final = tuple(f"f{i}" for i in range(10))


def _node_type() -> GraphQLObjectType:
    node: GraphQLObjectType = GraphQLObjectType(
        "Node",
        lambda: {
            **{
                name: GraphQLField(GraphQLInt, resolve=lambda obj, info, n=n: n)
                for n, name in enumerate(FIELDS)
            },
            "child": GraphQLField(node, resolve=lambda obj, info: obj),
        },
    )
    return node


SCHEMA: Final = GraphQLSchema(
    query=GraphQLObjectType(
        "Query",
        {
            "hello": GraphQLField(GraphQLNonNull(GraphQLString), resolve=lambda obj, info: "world"),
            "node": GraphQLField(_node_type(), resolve=lambda obj, info: {}),
        },
    )
)
HELLO: Final = "{ hello }"
NESTED: Final = "{ node { " + " ".join(FIELDS) + " child { " + " ".join(FIELDS) + " } } }"
HEADERS: Final = ((b"content-type", b"application/json"),)
APPS: Final = ("bareasgi", "ariadne", "strawberry", "strawberry-cached")


def _post(query: str, expect: dict[str, Any]) -> Request:
    return Request(
        "POST",
        PATH,
        200,
        None,
        body=json.dumps({"query": query}).encode(),
        headers=HEADERS,
        expect_json=json.dumps(expect).encode(),
    )


HELLO_REQUEST: Final = _post(HELLO, {"data": {"hello": "world"}})
_NODE: Final = {name: n for n, name in enumerate(FIELDS)}
NESTED_REQUEST: Final = _post(NESTED, {"data": {"node": {**_NODE, "child": _NODE}}})
_UNIQUE: Final = itertools.count()


def first_seen_requests(count: int) -> list[Request]:
    """`count` documents never sent before in this process."""
    return [
        _post(f"query Q{next(_UNIQUE)} {{ hello }}", {"data": {"hello": "world"}})
        for _ in range(count)
    ]


# -- the apps ------------------------------------------------------------------------------------


def build_bareasgi() -> ASGIApp:
    from bareasgi_graphql import add_graphql

    app = Application()
    add_graphql(app, SCHEMA)
    return app


def build_ariadne() -> ASGIApp:
    from ariadne.asgi import GraphQL

    app: ASGIApp = GraphQL(SCHEMA)
    return app


def build_strawberry(cached: bool) -> ASGIApp:
    import strawberry
    from strawberry.asgi import GraphQL
    from strawberry.extensions import ParserCache, ValidationCache

    @strawberry.type
    class Node:
        f0: int | None
        f1: int | None
        f2: int | None
        f3: int | None
        f4: int | None
        f5: int | None
        f6: int | None
        f7: int | None
        f8: int | None
        f9: int | None
        child: Node | None

    # Strawberry resolves the (postponed) annotations in this module's globals.
    globals()["Node"] = Node

    @strawberry.type
    class Query:
        hello: str
        node: Node | None

    extensions = [ParserCache, ValidationCache] if cached else []
    schema = strawberry.Schema(query=Query, extensions=extensions)
    # The very graphql-core schema the others run (same types, same resolvers).
    schema._schema = SCHEMA
    app: ASGIApp = GraphQL(schema)
    return app


BUILDERS: Final[dict[str, Callable[[], ASGIApp]]] = {
    "bareasgi": build_bareasgi,
    "ariadne": build_ariadne,
    "strawberry": lambda: build_strawberry(False),
    "strawberry-cached": lambda: build_strawberry(True),
}


# -- timing --------------------------------------------------------------------------------------


@dataclass
class Case(Sampled):
    key: str
    app: str
    scenario: str


SCENARIOS: Final = ("hello", "nested", "first-seen")


def requests_for(scenario: str, count: int) -> list[Request]:
    if scenario == "hello":
        return [HELLO_REQUEST]
    if scenario == "nested":
        return [NESTED_REQUEST]
    return first_seen_requests(count)


async def run(rounds: int, batch: int, first_batch: int, progress: bool) -> list[Case]:
    apps: dict[str, ASGIApp] = {}
    problems: dict[str, str] = {}
    for name, builder in BUILDERS.items():
        try:
            apps[name] = builder()
        except Exception as error:  # a peer that cannot be imported is reported, not fatal
            problems[name] = f"cannot build: {error!r}"
    all_cases = [
        Case(f"{scenario}/{app}", app, scenario, problem=problems.get(app))
        for scenario in SCENARIOS
        for app in APPS
    ]
    lifespans = {name: Lifespan(app) for name, app in apps.items()}
    for lifespan in lifespans.values():
        await lifespan.startup()
    try:
        for case in all_cases:
            if case.problem is not None:
                continue
            app, state = apps[case.app], lifespans[case.app].state
            requests = tuple(requests_for(case.scenario, 3))
            found = await check(app, Scenario(case.key, case.key, "json", requests), state)
            if found:
                case.problem = "; ".join(found)
                continue
            if case.scenario != "first-seen":
                await run_batch(app, prepare(requests, 0, max(200, batch // 4), state))
        live = [case for case in all_cases if case.problem is None]
        for round_ in range(rounds):
            shift = round_ % max(1, len(live))
            for case in live[shift:] + live[:shift]:
                size = first_batch if case.scenario == "first-seen" else batch
                await _timed(case, apps[case.app], lifespans[case.app].state, size)
            if progress:
                line = ", ".join(f"{c.key} {c.samples[-1]:.1f}" for c in live if c.samples)
                print(f"  round {round_ + 1}/{rounds}: {line}", file=sys.stderr, flush=True)
    finally:
        for lifespan in lifespans.values():
            await lifespan.shutdown()
    return all_cases


async def _timed(case: Case, app: ASGIApp, state: dict[str, Any], size: int) -> None:
    for _ in range(BATCH_TRIES):
        requests = requests_for(case.scenario, size)
        exchanges = prepare(requests, 0, size, state)
        elapsed, cpu = await run_batch(app, exchanges)
        wrong = verify(requests, 0, exchanges)
        if wrong is not None:
            case.problem = f"wrong answer while timed: {wrong}"
            return
        if cpu >= elapsed * ON_CPU_SHARE:
            break
    case.samples.append(elapsed / size / 1000)


# -- memory --------------------------------------------------------------------------------------


def _status_kib(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


async def memory(distinct: int) -> tuple[float, int]:
    """Peak RSS growth (MiB) while our app serves `distinct` documents never seen before,
    and how many the cache holds after."""
    from bareasgi_graphql import add_graphql, graphql_state

    app = Application()
    state = add_graphql(app, SCHEMA)
    assert graphql_state(app) is state
    lifespan = Lifespan(app)
    await lifespan.startup()
    try:
        warm = first_seen_requests(200)
        await run_batch(app, prepare(warm, 0, len(warm), lifespan.state))
        before = _status_kib("VmRSS")
        done = 0
        while done < distinct:
            chunk = first_seen_requests(min(500, distinct - done))
            exchanges = prepare(chunk, 0, len(chunk), lifespan.state)
            await run_batch(app, exchanges)
            wrong = verify(chunk, 0, exchanges)
            if wrong is not None:
                raise RuntimeError(wrong)
            done += len(chunk)
        peak = _status_kib("VmHWM")
    finally:
        await lifespan.shutdown()
    return max(0, peak - before) / 1024, state.engine.cached


# -- report --------------------------------------------------------------------------------------


def report(
    all_cases: Sequence[Case], rss_growth: float, cached: int, distinct: int
) -> tuple[str, bool]:
    by_key = {case.key: case for case in all_cases}
    lines = [
        "GraphQL plugin (bareasgi-graphql) against Strawberry and Ariadne, same schema",
        "",
        f"{'case':<30} {'µs/req':>9}  {'min - max':>17}  {'peer / ours':>11}",
    ]
    for case in all_cases:
        if case.median is None:
            lines.append(f"{case.key:<30} FAILED: {case.problem}")
            continue
        ours = by_key[f"{case.scenario}/bareasgi"]
        ratio = paired(case, ours)
        shown = f"{ratio:.2f}x" if ratio is not None and case is not ours else "-"
        lines.append(f"{case.key:<30} {case.median:>9.1f}  {spread(case):>17}  {shown:>11}")
    lines += ["", "targets (paired: the median over rounds of the ratio within each round)"]
    missed = False

    def target(text: str, ok: bool | None) -> None:
        nonlocal missed
        verdict = "NOT RUN" if ok is None else ("MET" if ok else "MISSED")
        missed = missed or verdict != "MET"
        lines.append(f"  {text}: {verdict}")

    for scenario in ("hello", "nested"):
        ours = by_key[f"{scenario}/bareasgi"]
        for peer, limit in (("ariadne", 0.1), ("strawberry", 0.1), ("strawberry-cached", 1.0)):
            ratio = paired(ours, by_key[f"{scenario}/{peer}"])
            shown = f"{ratio:.3f}x" if ratio is not None else "-"
            target(
                f"{scenario}: ours / {peer} = {shown} (target <= {limit}x)",
                None if ratio is None else ratio <= limit,
            )
    ours = by_key["first-seen/bareasgi"]
    for peer in ("ariadne", "strawberry"):
        ratio = paired(ours, by_key[f"first-seen/{peer}"])
        shown = f"{ratio:.3f}x" if ratio is not None else "-"
        target(
            f"first-seen: ours / {peer} = {shown} (target <= 1.0x)",
            None if ratio is None else ratio <= 1.0,
        )
    target(
        f"memory: peak RSS growth {rss_growth:.1f} MiB over {distinct} distinct documents "
        f"(cache holds {cached}; target < 20 MiB)",
        rss_growth < 20,
    )
    return "\n".join(lines), missed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugins.graphql")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case (15)")
    parser.add_argument("--batch", type=int, default=1000, help="repeated requests a batch (1000)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 200 requests")
    parser.add_argument("--progress", action="store_true", help="print each round to stderr")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds, batch = (3, 200) if args.quick else (args.rounds, args.batch)
    first_batch = max(50, batch // 5)
    from bareasgi_graphql import GraphQLOptions

    distinct = 5 * GraphQLOptions(schema=SCHEMA).cache_size
    rss_growth, cached = asyncio.run(memory(distinct))
    cases = asyncio.run(run(rounds, batch, first_batch, args.progress))
    text, missed = report(cases, rss_growth, cached, distinct)
    print(text, flush=True)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
