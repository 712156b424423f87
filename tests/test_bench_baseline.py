"""`python -m benchmarks --baseline REV`: an earlier core timed beside this checkout's, in the
same rounds (issue 12's +0.1x gate is only meaningful that way)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import bareasgi
from benchmarks.baseline import APP_MODULE, KEY, extract_core, load_baseline
from benchmarks.driver import Lifespan, check
from benchmarks.scenarios import BY_NAME


def test_the_baseline_core_runs_beside_this_checkouts() -> None:
    ours = sys.modules["bareasgi"]
    contender, build = load_baseline("HEAD")
    assert contender.key == KEY
    assert sys.modules["bareasgi"] is ours is bareasgi  # this checkout's core is untouched
    app = build(BY_NAME["hello"].kind)
    # The app was built with the extracted core's Application, not this checkout's.
    assert type(app) is not bareasgi.Application
    assert "bareasgi-baseline-" in type(app).__call__.__code__.co_filename
    assert APP_MODULE not in sys.modules or sys.modules[APP_MODULE].build is not build

    async def answers() -> list[str]:
        lifespan = Lifespan(app)
        await lifespan.startup()
        try:
            return await check(app, BY_NAME["hello"], lifespan.state)
        finally:
            await lifespan.shutdown()

    assert asyncio.run(answers()) == []


def test_an_unknown_revision_is_refused_with_gits_reason() -> None:
    with pytest.raises(ValueError, match="cannot read packages/core/src/bareasgi at 'no-such-rev'"):
        extract_core("no-such-rev")


def test_the_extracted_core_is_the_revisions() -> None:
    source = extract_core("HEAD")
    committed = subprocess.run(
        ["git", "show", "HEAD:packages/core/src/bareasgi/applications.py"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        check=True,
    ).stdout
    assert (source / "bareasgi" / "applications.py").read_bytes() == committed
