"""The graphql-ws and graphql-sse npm clients against the app served by hypercorn, uvicorn and
granian: a countdown in order, two concurrent subscriptions on one socket / one SSE
connection, early unsubscribe (the server's source closed) then resubscribe, and an invalid
subscription answered with errors — over WebSocket and both graphql-sse modes
(tests/node-subs/subscriptions.test.mjs).

Runs on Python 3.12 only (one Python of the matrix); the set-up installs the pinned clients
with `npm ci` from tests/node-subs/package-lock.json.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from node_helpers import APT_LINE

from bareasgi.testing import program_or_skip, run_granian, run_hypercorn, run_uvicorn

HERE = Path(__file__).parent
CLIENTS = HERE / "node-subs"

pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != (3, 12),
    reason="the node client tests run on Python 3.12 only (one Python of the matrix)",
)


@pytest.fixture(scope="module")
def node() -> str:
    node = program_or_skip("node", APT_LINE)
    npm = program_or_skip("npm", APT_LINE)
    if not (CLIENTS / "node_modules" / "graphql-sse").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENTS, check=True, timeout=300)
    return node


@pytest.mark.parametrize("run", [run_hypercorn, run_uvicorn, run_granian])
def test_the_graphql_ws_and_graphql_sse_clients(node: str, run: Any) -> None:
    with run("subs_wire_app:app", cwd=HERE) as server:
        result = subprocess.run(
            [node, "--test", "--test-reporter=spec", "subscriptions.test.mjs"],
            cwd=CLIENTS,
            env={**os.environ, "GQL_URL": f"{server.base_url}/graphql"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\u2139 fail 0" in result.stdout
    assert "\u2139 pass 15" in result.stdout
