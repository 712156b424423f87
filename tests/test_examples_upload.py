"""The REST example's form page with an upload (core's request helpers), under a real hypercorn."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx

from bareasgi.testing import run_hypercorn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_rest_upload_page() -> None:
    data = os.urandom(2 * 1024 * 1024) + b"\r\n"  # past the spool threshold, trailing CR/LF kept
    with (
        run_hypercorn("rest:app", cwd=EXAMPLES) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        page = client.get("/upload")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        posted = client.post(
            "/upload",
            data={"title": "<b>Holiday</b>"},
            files={"file": ("../../photo.bin", data)},
        )
        assert (posted.status_code, posted.headers["location"]) == (303, "/upload")
        listed = client.get("/upload").text
        missing = client.post("/upload", data={"title": "no file"})
        not_a_form = client.post("/upload", json={"title": "x"})
        assert client.get("/info", headers={"accept": "application/json"}).json() == {
            "name": "Michael Caine"
        }
    assert "&lt;b&gt;Holiday&lt;/b&gt;: photo.bin" in listed
    assert f"{len(data)} bytes, sha-256 {hashlib.sha256(data).hexdigest()[:16]}" in listed
    assert (missing.status_code, missing.text) == (400, "Missing file field 'file'")
    assert not_a_form.status_code == 415
