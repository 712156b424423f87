"""``--baseline REV``: this checkout's core against the core of an earlier commit, in one run.

A speed gate such as "every scenario within +0.1x of the baseline's ratio to the floor" is only
meaningful when both cores run in the same rounds on the same machine: this shared machine's
speed drifts by more than the gate from one run to the next. So the core of ``REV``
(``packages/core/src/bareasgi``, through ``git archive``) is extracted into a temporary folder
and imported under its own name ``bareasgi`` *beside* this checkout's, by swapping the
``bareasgi`` modules in ``sys.modules`` while this checkout's bench app
(``benchmarks/apps/bareasgi_app.py``) is imported against it. The app keeps references to the
functions it was built with, so each contender runs on its own core afterwards.

Limits: the bench app is this checkout's, so it must work with the baseline's API (true of
every core since the contracts issue's baseline ``ef86275``); a module the baseline imports
lazily, inside a function, is found in ``sys.modules``, which holds this checkout's: the
baseline's hot path imports nothing lazily.
"""

from __future__ import annotations

import atexit
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Final

from .apps import Builder, Contender

ROOT: Final = Path(__file__).resolve().parent.parent
CORE_PACKAGE: Final = "packages/core/src/bareasgi"
APP_MODULE: Final = "benchmarks.apps.bareasgi_app"
KEY: Final = "baseline"


def _ours(name: str) -> bool:
    return name == "bareasgi" or name.startswith("bareasgi.") or name == APP_MODULE


def extract_core(rev: str) -> Path:
    """The core package of `rev`, extracted into a temporary folder (removed at exit); the
    folder to put on `sys.path`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, CORE_PACKAGE],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        message = archive.stderr.decode("utf-8", "replace").strip()
        raise ValueError(f"cannot read {CORE_PACKAGE} at {rev!r}: {message}")
    folder = Path(tempfile.mkdtemp(prefix="bareasgi-baseline-"))
    atexit.register(shutil.rmtree, folder, True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "packages" / "core" / "src"


def load_baseline(rev: str) -> tuple[Contender, Builder]:
    """The contender for `rev`'s core and its builder, imported beside this checkout's core
    (which must be imported already, or is imported first)."""
    importlib.import_module(APP_MODULE)  # this checkout's core and app, kept as they are
    source = extract_core(rev)
    kept = {name: module for name, module in sys.modules.items() if _ours(name)}
    for name in kept:
        del sys.modules[name]
    sys.path.insert(0, str(source))
    try:
        module = importlib.import_module(APP_MODULE)
        build: Builder = module.build
        where = Path(importlib.import_module("bareasgi").__file__ or "").resolve()
        if not where.is_relative_to(source):
            raise ImportError(f"the baseline core was not the one imported ({where})")
    finally:
        sys.path.remove(str(source))
        for name in [name for name in sys.modules if _ours(name)]:
            del sys.modules[name]
        sys.modules.update(kept)
    contender = Contender(KEY, f"bareASGI @{rev}", "bareasgi_app", "bareasgi")
    return contender, build
