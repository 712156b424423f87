"""Helpers for the multiprocess directory."""

from __future__ import annotations

import os
from pathlib import Path

from ._options import MULTIPROC_DIR_VARIABLE


def clear_multiprocess_directory(path: str | os.PathLike[str] | None = None) -> Path:
    """Empty (creating it if needed) the multiprocess directory before the server starts.

    Call it from whatever starts the server, before any worker runs: never from a worker,
    which would erase the files of workers already serving. Only prometheus-client's `*.db`
    files are removed. `path` defaults to `$PROMETHEUS_MULTIPROC_DIR`.

    Returns:
        The directory.
    """
    if path is None:
        value = os.environ.get(MULTIPROC_DIR_VARIABLE)
        if not value:
            raise ValueError(f"${MULTIPROC_DIR_VARIABLE} is not set")
        path = value
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for file in directory.glob("*.db"):
        file.unlink(missing_ok=True)
    return directory


__all__ = ["clear_multiprocess_directory"]
