"""The soak suite of issue 14: `nox -s soak` (see soak/__main__.py)."""
