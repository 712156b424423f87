"""Lifespan: startup and shutdown handlers, failure reporting."""

from __future__ import annotations

import pytest

from bareasgi import Application, Info, Scope
from bareasgi.testing import TestClient
from bareasgi.types import Message


async def test_startup_and_shutdown_handlers_run_in_order() -> None:
    calls: list[str] = []

    async def first(scope: Scope, info: Info, message: Message) -> None:
        calls.append(f"first {message['type']}")
        info["ready"] = True

    app = Application(startup_handlers=[first])

    @app.on_startup
    async def second(scope: Scope, info: Info, message: Message) -> None:
        calls.append("second")

    @app.on_shutdown
    async def stop(scope: Scope, info: Info, message: Message) -> None:
        calls.append(f"stop {message['type']}")

    async with TestClient(app):
        assert calls == ["first lifespan.startup", "second"]
        assert app.info["ready"] is True
        assert app.started
    assert calls[-1] == "stop lifespan.shutdown"


async def test_failing_startup_is_reported() -> None:
    async def fails(scope: Scope, info: Info, message: Message) -> None:
        raise RuntimeError("database unreachable")

    app = Application(startup_handlers=[fails])
    with pytest.raises(Exception, match="database unreachable"):
        async with TestClient(app):
            pass


async def test_failing_shutdown_is_reported() -> None:
    async def fails(scope: Scope, info: Info, message: Message) -> None:
        raise RuntimeError("flush failed")

    app = Application(shutdown_handlers=[fails])
    with pytest.raises(Exception, match="flush failed"):
        async with TestClient(app):
            pass
