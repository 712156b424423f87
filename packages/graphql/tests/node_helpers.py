"""Node for the tests: `npm ci` once in tests/node, and a runner for its scripts.

The node tests (graphql-http's audits, the graphql-ws and graphql-sse clients) and the
browser test run on Python 3.12 only, so that CI, which runs the package's tests on 3.12 and
3.13, runs them once. Without node and npm they are skipped, unless `CI` is set, where they
fail with the line that installs them.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from bareasgi.testing import program_or_skip

NODE_DIR: Final = Path(__file__).resolve().parent / "node"
APT_LINE: Final = "apt-get install -y --no-install-recommends nodejs npm"
ONE_PYTHON: Final = (3, 12)


def skip_unless_one_python() -> None:
    """Skip on every Python but 3.12: the node and browser tests run once per CI run."""
    if sys.version_info[:2] != ONE_PYTHON:
        pytest.skip("node and browser tests run on Python 3.12 only (once per CI run)")


def ensure_node_modules() -> Path:
    """`npm ci` in tests/node, once (a lock file serialises concurrent runs); its path."""
    skip_unless_one_python()
    for program in ("node", "npm"):
        program_or_skip(program, APT_LINE)
    lock = NODE_DIR / ".npm-ci.lock"
    stamp = NODE_DIR / "node_modules" / ".installed-from-lock"
    lock_text = (NODE_DIR / "package-lock.json").read_text()
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not stamp.is_file() or stamp.read_text() != lock_text:
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                check=True,
                timeout=300,
            )
            stamp.write_text(lock_text)
    return NODE_DIR


def run_node(script: str, *args: str, timeout: float = 120) -> Any:
    """Run `node <script> <args>` in tests/node; its last stdout line, parsed as JSON."""
    completed = subprocess.run(
        ["node", script, *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"node {script} failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
