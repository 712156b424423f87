"""Each test counts its own subscription sources: the shared tracker starts afresh."""

from __future__ import annotations

import pytest
from subs_schema import TRACKER


@pytest.fixture(autouse=True)
def _fresh_source_counts() -> None:
    TRACKER.reset()
