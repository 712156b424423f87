"""The plugin example in the core README works as printed."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, text_writer
from bareasgi.testing import TestClient

README = Path(__file__).resolve().parents[1] / "packages" / "core" / "README.md"


def load_plugin_example() -> types.ModuleType:
    text = README.read_text()
    section = text[text.index("### Writing a plugin") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    assert len(code.group(1).strip().splitlines()) <= 40
    module = types.ModuleType("powered")
    sys.modules["powered"] = module  # dataclasses look their module up
    try:
        exec(compile(code.group(1), str(README), "exec"), module.__dict__)
    finally:
        del sys.modules["powered"]
    return module


async def test_the_readme_plugin_example_runs() -> None:
    async def hello(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
        return 200, [], text_writer("hi")

    app = Application(plugins={load_plugin_example(): {"value": "me"}})
    app.http_router.add({"GET"}, "/", hello)
    async with TestClient(app) as client:
        version = await client.get("/version")
        root = await client.get("/")
    assert version.text == "0.1"
    assert version.headers["x-powered-by"] == "me"
    assert root.headers["x-powered-by"] == "me"
    assert app.plugins["powered"].options.value == "me"
