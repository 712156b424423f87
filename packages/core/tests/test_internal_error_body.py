"""A 500 says nothing but its configured body: not the exception, handler, route or path."""

from __future__ import annotations

import pytest

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope
from bareasgi.testing import TestClient

TEMPLATE = "/vault/{account}/ledger"
SECRET = "hunter2-database-password"


async def reconcile_vault_ledger_for_account(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    raise RuntimeError(SECRET)


async def reconcile_vault_ledger_badly(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    return "not a response"  # type: ignore[return-value]  # fails after the handler returns


async def reconcile_vault_ledger_from_the_body(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    async for _ in content:
        raise RuntimeError(SECRET)
    raise RuntimeError(SECRET)


HANDLERS = pytest.mark.parametrize(
    "handler",
    [
        reconcile_vault_ledger_for_account,
        reconcile_vault_ledger_badly,
        reconcile_vault_ledger_from_the_body,
    ],
    ids=["raises", "bad-response", "raises-reading"],
)


def leaks(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace").lower()
    words = [SECRET, "RuntimeError", "reconcile", "vault", "ledger", "account", "{", "Traceback"]
    return [word for word in words if word.lower() in text]


@HANDLERS
async def test_500_body_is_exactly_the_default(
    handler: object,
) -> None:
    app = Application()
    app.http_router.add({"GET", "POST"}, TEMPLATE, handler)  # type: ignore[arg-type]
    async with TestClient(app) as client:
        answer = await client.post("/vault/savings/ledger", content=b"{}")
    assert answer.status_code == 500
    assert answer.content == b"Internal Server Error"
    assert leaks(answer.content) == []
    assert not any(leaks(value.encode()) for value in answer.headers.values())


@HANDLERS
async def test_500_body_is_exactly_the_configured_one(
    handler: object,
) -> None:
    app = Application(
        internal_error_response=(500, [(b"content-type", b"text/plain")], b"Sorry."),
    )
    app.http_router.add({"GET", "POST"}, TEMPLATE, handler)  # type: ignore[arg-type]
    async with TestClient(app) as client:
        first = await client.post("/vault/savings/ledger", content=b"{}")
        second = await client.get("/vault/current/ledger")
    for answer in (first, second):
        assert (answer.status_code, answer.content) == (500, b"Sorry.")
        assert answer.headers["content-type"] == "text/plain"
        assert answer.headers["content-length"] == "6"
