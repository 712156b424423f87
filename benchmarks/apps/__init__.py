"""The contenders: one module per framework, each with ``build(kind) -> ASGI app``.

Modules are imported only when asked for, so a framework that is not installed (or the core
while it is being written) leaves the others running.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from benchmarks.driver import ASGIApp
from benchmarks.scenarios import AppKind

Builder = Callable[[AppKind], ASGIApp]


@dataclass(frozen=True, slots=True)
class Contender:
    key: str
    label: str
    module: str
    distribution: str | None
    """The distribution whose version is reported (None for the raw floor)."""

    @property
    def is_floor(self) -> bool:
        return self.distribution is None

    def version(self) -> str:
        if self.distribution is None:
            return "-"
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    def load(self) -> Builder:
        """The module's ``build``; raises ImportError when the framework is missing."""
        module = importlib.import_module(f"{__name__}.{self.module}")
        build: Builder = module.build
        return build


RAW: Final = Contender("raw", "raw ASGI (floor)", "raw", None)
BAREASGI: Final = Contender("bareasgi", "bareASGI", "bareasgi_app", "bareasgi")
PEERS: Final = (
    Contender("starlette", "Starlette", "starlette_app", "starlette"),
    Contender("blacksheep", "BlackSheep", "blacksheep_app", "blacksheep"),
    Contender("falcon", "Falcon", "falcon_app", "falcon"),
)
ALL: Final = (RAW, BAREASGI, *PEERS)
BY_KEY: Final = {c.key: c for c in ALL}
