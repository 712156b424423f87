"""The request helpers' example in core's README works as printed."""

from __future__ import annotations

import re
import types
from pathlib import Path

from bareasgi import Application
from bareasgi.testing import TestClient

README = Path(__file__).resolve().parents[1] / "README.md"


def load_example() -> Application:
    text = README.read_text()
    section = text[text.index("## Request helpers") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    module = types.ModuleType("helpers_example")
    exec(compile(code.group(1), str(README), "exec"), module.__dict__)
    app: Application = module.app
    return app


async def test_the_readme_helpers_example_runs() -> None:
    app = load_example()
    async with TestClient(app) as client:
        listed = await client.get("/api/items?page=2&tag=a&tag=b")
        bad_page = await client.get("/api/items?page=x")
        slash = await client.get("/api/items/?page=3")
        created = await client.post("/api/items", json={"name": "x"})
        not_json = await client.post(
            "/api/items", content=b"x", headers={"content-type": "text/plain"}
        )
        uploaded = await client.post(
            "/upload",
            data={"title": "Holiday", "next": "//evil.example/"},
            files={"photo": ("../me.jpg", b"\xff\xd8 jpeg bytes")},
        )
        first = await client.get("/visit")
        second = await client.get("/visit", headers={"cookie": "visits=1;other=x"})
    assert listed.json() == {"page": 2, "tags": ["a", "b"], "next": "/api/items?page=3&tag=a&tag=b"}
    assert bad_page.status_code == 400
    assert bad_page.headers["content-type"] == "application/problem+json"
    assert bad_page.json()["detail"] == "Query parameter 'page' must be an integer"
    assert (slash.status_code, slash.headers["location"]) == (308, "/api/items?page=3")
    assert (created.status_code, created.json()) == (201, {"name": "x"})
    assert not_json.status_code == 415
    assert (uploaded.status_code, uploaded.headers["location"]) == (303, "/")
    assert app.info["uploads"] == [("Holiday", "me.jpg", 13)]
    assert first.text == "visit 1"
    assert first.headers["set-cookie"] == "visits=1; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert second.text == "visit 2"
