"""The README's examples run as printed, and its options table lists every option."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from bareasgi import Application
from bareasgi.testing import TestClient
from bareasgi_static import StaticOptions

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


@pytest.mark.parametrize("index", range(len(python_blocks())))
async def test_readme_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    for folder in ("public", "dist", "media"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "index.html").write_bytes(folder.encode())
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(python_blocks()[index], str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, Application)
    async with TestClient(app) as client:
        for route in app.http_router:
            if route.template.endswith("{path:path}"):
                prefix = route.template.removesuffix("{path:path}")
                response = await client.get(prefix)
                assert response.status_code == 200, prefix


def test_the_options_table_lists_every_option() -> None:
    table = README.read_text().split("## Options", 1)[1].split("##", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert listed == {field.name for field in dataclasses.fields(StaticOptions)}
