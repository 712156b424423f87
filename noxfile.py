"""Sessions for the bareASGI monorepo.

`nox` alone runs the test matrix (every package on every Python, integration, lint and
typecheck) and core's tests on the lowest and the newest dependencies its bounds allow (`lowest`,
`newest`). `bench` and `demo` are sessions of their own. Every install takes our packages from
this repository by path, all in one command, so the unrelated `bareasgi*` distributions on the
public index are never chosen.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYTHONS = ["3.12", "3.13"]
BENCH_PYTHON = "3.12"
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
TEST_DEPS = [
    "pytest>=9",
    "pytest-asyncio>=1.4",  # 1.3 leaves event loops unclosed (ResourceWarning as error)
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
]
LINT_DEPS = ["ruff==0.17.5"]
TYPE_DEPS = ["mypy==2.4.1"]

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = [
    "tests",
    "integration",
    "lint",
    "typecheck",
    "lowest",
    "newest",
    "bench_smoke",
]


def local(name: str, extras: str = "") -> str:
    """An editable, by-path requirement for one of our packages."""
    return f"-e{ROOT / 'packages' / name}{f'[{extras}]' if extras else ''}"


def local_path(path: str) -> str:
    return f"-e{ROOT / path}"


def all_packages() -> list[str]:
    return [local("core", "testing,server")] + [
        local(p, test_extra(p)) for p in PACKAGES if p != "core"
    ]


def test_extra(package: str) -> str:
    """`test` when the package declares a `test` extra (its own test-only dependencies)."""
    with (ROOT / "packages" / package / "pyproject.toml").open("rb") as file:
        extras = tomllib.load(file)["project"].get("optional-dependencies", {})
    return "test" if "test" in extras else ""


@nox.session(python=PYTHONS)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """One package's own tests, in an environment holding only it and core."""
    requirements = [local("core", "testing,server")]
    if package != "core":
        requirements.append(local(package, test_extra(package)))
    session.install(*requirements, *TEST_DEPS)
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


def _core_tests_resolved(session: nox.Session, *resolution: str) -> None:
    """Core's tests with its dependencies (and the test tools) resolved by `resolution`.

    Our package goes in by path in the same command, so its own dependencies count as direct
    ones for `lowest-direct`; what was resolved is printed before the tests run.
    """
    session.install(*resolution, local("core", "testing,server"), *TEST_DEPS)
    session.run("python", "-c", _PRINT_VERSIONS, silent=False)
    session.run("pytest", "packages/core/tests", *session.posargs)


_PRINT_VERSIONS = (
    "from importlib.metadata import distributions as d; "
    "print(*sorted(f'{x.name}=={x.version}' for x in d()), sep='\\n')"
)


@nox.session(python=PYTHONS[0])
def lowest(session: nox.Session) -> None:
    """Core's tests on the lowest versions its pyproject (and TEST_DEPS) allow."""
    _core_tests_resolved(session, "--resolution=lowest-direct")


@nox.session(python=PYTHONS[0])
def newest(session: nox.Session) -> None:
    """Core's tests on the newest versions its pyproject (and TEST_DEPS) allow."""
    _core_tests_resolved(session, "--resolution=highest", "--upgrade")


@nox.session(python=PYTHONS)
def integration(session: nox.Session) -> None:
    """Cross-package tests against every package installed together."""
    session.install(*all_packages(), local_path("tests/fixtures/sample_plugins"), *TEST_DEPS)
    session.run("pytest", "tests", *session.posargs)


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    session.install(
        *all_packages(),
        local_path("tests/fixtures/sample_plugins"),
        *TEST_DEPS,
        *TYPE_DEPS,
        *BENCH_DEPS,
    )
    sources = [f"packages/{p}/src" for p in PACKAGES]
    session.run("mypy", *sources, "examples", "benchmarks", "soak")
    session.run(
        "mypy", "--allow-untyped-decorators", *[f"packages/{p}/tests" for p in PACKAGES], "tests"
    )


BENCH_DEPS = [
    "starlette",
    "blacksheep",
    "falcon",
    "uvicorn",
    "httpx",
    "jinja2",
    "starlette-exporter",
    # The GraphQL plugin's peers (benchmarks/plugins/graphql.py).
    "strawberry-graphql",
    "ariadne",
]


@nox.session(python=BENCH_PYTHON)
def bench(session: nox.Session) -> None:
    """The performance harness: every scenario against the raw-ASGI floor and the peers,
    then each plugin's own scenarios (`-- --quick` for a short run)."""
    session.install(*all_packages(), *BENCH_DEPS)
    session.run("python", "-m", "benchmarks", *session.posargs)
    plugin_benches = sorted(
        path.stem
        for path in (ROOT / "benchmarks" / "plugins").glob("*.py")
        if path.stem != "__init__"
    )
    quick = ["--quick"] if "--quick" in session.posargs else []
    for name in plugin_benches:
        session.run("python", "-m", f"benchmarks.plugins.{name}", *quick)


SMOKE = ["--scenario", "hello", "--app", "bareasgi", "--rounds", "15", "--no-wire"]
SMOKE_LIMIT = "3"


@nox.session(python=BENCH_PYTHON)
def bench_smoke(session: nox.Session) -> None:
    """A gate against a hot path broken by accident: hello world within 3x the floor.

    15 rounds against the raw-ASGI floor only, loose enough for a noisy shared machine; a miss
    is measured once more before the session fails.
    """
    session.install(local("core"))
    command = ["python", "-m", "benchmarks", *SMOKE, "--strict", "--hello-limit", SMOKE_LIMIT]
    first = session.run(*command, silent=True, success_codes=[0, 1])
    print(first, flush=True)
    if "MISSED" in str(first):
        session.log("hello world over the smoke limit: measuring once more")
        session.run(*command)


@nox.session(python=BENCH_PYTHON)
def soak(session: nox.Session) -> None:
    """The soak suite (issue 14): the demo with every plugin under `python -m bareasgi serve`,
    attacked in bounded phases; prints its table (`-- --quick` for a smoke run). Not in the
    default sessions."""
    session.install(*all_packages(), "httpx", "hypothesis>=6.100")
    session.run("python", "-m", "soak", *session.posargs)


@nox.session(python=PYTHONS[0])
def demo(session: nox.Session) -> None:
    """The demo application at http://127.0.0.1:9009 under `python -m bareasgi serve` (Ctrl-C
    stops it; `-- --bind HOST:PORT --grace SECONDS` to change where and how long)."""
    session.install(*all_packages())
    session.chdir(ROOT / "examples")
    where = [] if "--bind" in session.posargs else ["--bind", "127.0.0.1:9009"]
    session.run("python", "-m", "bareasgi", "serve", "demo:app", *where, *session.posargs)
