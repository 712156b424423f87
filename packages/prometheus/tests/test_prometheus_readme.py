"""The README's examples run as printed, and its options table matches the options."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bareasgi_prometheus import PrometheusOptions

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize(
    "code", re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
)
def test_the_readme_examples_run(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    exec(compile(code, str(README), "exec"), {})


def test_every_option_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))
    options = {field.name for field in dataclasses.fields(PrometheusOptions)}
    assert options <= rows
