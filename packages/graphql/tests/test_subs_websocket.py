"""graphql-transport-ws: every message type, every close code, the per-socket limit, and no
task or source iterator left behind however an operation ends."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from subs_helpers import (  # noqa: F401 (an autouse fixture)
    SUBPROTOCOL,
    TestClient,
    fresh_source_counts,
    init,
    receive_json,
    session_for,
    settle,
    subscribe,
    ws_app,
)
from subs_schema import TRACKER

from bareasgi_graphql.engine import ContextRefused

COUNTDOWN = "subscription ($from: Int!) { countdown(from: $from) }"


async def test_countdown_arrives_in_order_then_complete() -> None:
    before = len(asyncio.all_tasks())
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        assert session.subprotocol == SUBPROTOCOL
        await init(session)
        await session.send_text(subscribe("1", COUNTDOWN, variables={"from": 3}))
        for number in (3, 2, 1, 0):
            assert await receive_json(session) == {
                "id": "1",
                "type": "next",
                "payload": {"data": {"countdown": number}},
            }
        assert await receive_json(session) == {"id": "1", "type": "complete"}
    assert await settle(before) <= before
    assert TRACKER.open == 0


async def test_query_and_mutation_shaped_operations_run_over_the_socket() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("q", "{ hello }"))
        assert await receive_json(session) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"hello": "world"}},
        }
        assert await receive_json(session) == {"id": "q", "type": "complete"}


async def test_two_concurrent_subscriptions_interleave() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        query = "subscription ($from: Int!) { countdown(from: $from, delay: 0.01) }"
        await session.send_text(subscribe("a", query, variables={"from": 3}))
        await session.send_text(subscribe("b", query, variables={"from": 2}))
        seen: dict[str, list[Any]] = {"a": [], "b": []}
        completed: set[str] = set()
        while len(completed) < 2:
            message = await receive_json(session)
            if message["type"] == "complete":
                completed.add(message["id"])
            else:
                seen[message["id"]].append(message["payload"]["data"]["countdown"])
        assert seen == {"a": [3, 2, 1, 0], "b": [2, 1, 0]}


async def test_complete_closes_a_blocked_source_at_once_and_the_id_is_free_again() -> None:
    before = len(asyncio.all_tasks())
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("f", "subscription { forever }"))
        await asyncio.wait_for(TRACKER.wait_open(1), 10)
        await session.send_text(json.dumps({"id": "f", "type": "complete"}))
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
        # The id may be used again, and nothing more is sent for the old one.
        await session.send_text(subscribe("f", COUNTDOWN, variables={"from": 0}))
        assert await receive_json(session) == {
            "id": "f",
            "type": "next",
            "payload": {"data": {"countdown": 0}},
        }
        assert await receive_json(session) == {"id": "f", "type": "complete"}
        # A complete for an unknown id is ignored.
        await session.send_text(json.dumps({"id": "nope", "type": "complete"}))
        await session.send_text(json.dumps({"type": "ping"}))
        assert await receive_json(session) == {"type": "pong"}
    assert await settle(before) <= before
    assert TRACKER.open == 0


async def test_a_vanishing_client_closes_every_source() -> None:
    before = len(asyncio.all_tasks())
    async with TestClient(ws_app()) as client:
        async with client.websocket_connect("/graphql", [SUBPROTOCOL]) as session:
            await init(session)
            for number in range(3):
                await session.send_text(subscribe(str(number), "subscription { forever }"))
            await asyncio.wait_for(TRACKER.wait_open(3), 10)
        # The session is gone without a complete for any of them.
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
    assert await settle(before) <= before


async def test_ping_pong_with_and_without_payload_before_and_after_init() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await session.send_text(json.dumps({"type": "ping", "payload": {"n": 1}}))
        assert await receive_json(session) == {"type": "pong", "payload": {"n": 1}}
        await init(session)
        await session.send_text(json.dumps({"type": "ping"}))
        assert await receive_json(session) == {"type": "pong"}
        await session.send_text(json.dumps({"type": "pong"}))  # unsolicited: ignored
        await session.send_text(json.dumps({"type": "ping"}))
        assert await receive_json(session) == {"type": "pong"}


async def test_subscribe_before_connection_init_closes_4401() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await session.send_text(subscribe("1", "{ hello }"))
        assert (await session.wait_closed(10))[0] == 4401


async def test_no_connection_init_closes_4408() -> None:
    before = len(asyncio.all_tasks())
    async with session_for(ws_app(connection_init_timeout=0.2), [SUBPROTOCOL]) as session:
        # A ping does not count as initialising.
        await session.send_text(json.dumps({"type": "ping"}))
        assert await receive_json(session) == {"type": "pong"}
        code, reason = await session.wait_closed(10)
        assert (code, reason) == (4408, "Connection initialisation timeout")
    assert await settle(before) <= before


async def test_a_second_connection_init_closes_4429() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(json.dumps({"type": "connection_init"}))
        assert (await session.wait_closed(10))[0] == 4429


async def test_a_running_id_subscribed_again_closes_4409_and_ends_its_source() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("x", "subscription { forever }"))
        await asyncio.wait_for(TRACKER.wait_open(1), 10)
        await session.send_text(subscribe("x", "{ hello }"))
        assert await session.wait_closed(10) == (4409, "Subscriber for x already exists")
    await asyncio.wait_for(TRACKER.wait_all_closed(), 10)


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[]",
        '{"type": 1}',
        '{"no": "type"}',
        '{"type": "next", "id": "1", "payload": {}}',
        '{"type": "subscribe", "id": "", "payload": {"query": "{ hello }"}}',
        '{"type": "subscribe", "id": 7, "payload": {"query": "{ hello }"}}',
        '{"type": "subscribe", "id": "1", "payload": {"query": 1}}',
        '{"type": "subscribe", "id": "1", "payload": {"query": "{ hello }", "variables": []}}',
        '{"type": "subscribe", "id": "1", "payload": {"query": "{ hello }", "operationName": 1}}',
        '{"type": "complete"}',
        '{"type": "ping", "payload": "x"}',
    ],
)
async def test_invalid_messages_close_4400(message: str) -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(message)
        assert (await session.wait_closed(10))[0] == 4400


async def test_invalid_connection_init_payload_closes_4400() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await session.send_text('{"type": "connection_init", "payload": 3}')
        assert (await session.wait_closed(10))[0] == 4400


async def test_the_context_callable_sees_the_payload_and_may_refuse_with_4403() -> None:
    seen = []

    def context(scope: Any, info: Any, connection_params: Any) -> str:
        seen.append(connection_params)
        if connection_params.get("token") != "good":
            raise ContextRefused("bad token")
        return "user"

    async with TestClient(ws_app(context=context)) as client:
        async with client.websocket_connect("/graphql", [SUBPROTOCOL]) as session:
            await init(session, {"token": "good"})
        async with client.websocket_connect("/graphql", [SUBPROTOCOL]) as session:
            await session.send_text('{"type": "connection_init", "payload": {"token": "bad"}}')
            assert await session.wait_closed(10) == (4403, "Forbidden")
    assert seen == [{"token": "good"}, {"token": "bad"}]


async def test_a_failing_context_callable_closes_4500_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def context(scope: Any, info: Any, connection_params: Any) -> str:
        raise RuntimeError("database down")

    async with session_for(ws_app(context=context), [SUBPROTOCOL]) as session:
        await session.send_text('{"type": "connection_init"}')
        assert await session.wait_closed(10) == (4500, "Internal server error")
    assert any("context" in record.getMessage() for record in caplog.records)


async def test_no_graphql_transport_ws_subprotocol_closes_4406() -> None:
    async with session_for(ws_app(), ["graphql-ws"]) as session:
        assert session.subprotocol is None
        assert (await session.wait_closed(10))[0] == 4406


async def test_an_invalid_subscription_is_answered_with_an_error_message() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("1", "subscription { nope }"))
        message = await receive_json(session)
        assert message["id"] == "1"
        assert message["type"] == "error"
        assert "nope" in message["payload"][0]["message"]
        await session.send_text(subscribe("2", "subscription {"))
        message = await receive_json(session)
        assert message["type"] == "error"
        assert "Syntax Error" in message["payload"][0]["message"]
        await session.send_text(subscribe("3", COUNTDOWN, variables={"from": "x"}))
        message = await receive_json(session)
        assert message["type"] == "error"
        assert "$from" in message["payload"][0]["message"]
        # The socket stays open.
        await session.send_text(json.dumps({"type": "ping"}))
        assert await receive_json(session) == {"type": "pong"}


async def test_source_and_subscribe_resolver_failures_are_masked_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "bareasgi_graphql")
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("1", "subscription Failing { failing }"))
        assert await receive_json(session) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"failing": 1}},
        }
        assert await receive_json(session) == {
            "id": "1",
            "type": "error",
            "payload": [{"message": "Internal server error"}],
        }
        await session.send_text(subscribe("2", "subscription { refused }"))
        message = await receive_json(session)
        assert message["type"] == "error"
        assert message["payload"][0]["message"] == "Internal server error"
        assert "secret" not in json.dumps(message)
    assert TRACKER.open == 0
    assert any("'Failing'" in record.getMessage() for record in caplog.records)


async def test_the_subscription_limit_answers_the_one_over_and_keeps_the_socket() -> None:
    async with session_for(ws_app(max_subscriptions=3), [SUBPROTOCOL]) as session:
        await init(session)
        for number in range(4):
            await session.send_text(subscribe(str(number), "subscription { forever }"))
        message = await receive_json(session)
        assert message["id"] == "3"
        assert message["type"] == "error"
        assert "max_subscriptions" in message["payload"][0]["message"]
        await asyncio.wait_for(TRACKER.wait_open(3), 10)
        # One completed makes room for another.
        await session.send_text(json.dumps({"id": "0", "type": "complete"}))
        await session.send_text(subscribe("3", COUNTDOWN, variables={"from": 0}))
        assert (await receive_json(session))["type"] == "next"
        assert await receive_json(session) == {"id": "3", "type": "complete"}
    await asyncio.wait_for(TRACKER.wait_all_closed(), 10)


async def test_thousands_of_subscribe_messages_on_one_socket() -> None:
    before = len(asyncio.all_tasks())
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        for number in range(3000):
            await session.send_text(subscribe(str(number), "subscription { forever }"))
        refused: set[int] = set()
        while len(refused) < 2900:
            message = await receive_json(session)
            assert message["type"] == "error"
            refused.add(int(message["id"]))
        assert refused == set(range(100, 3000))
        await asyncio.wait_for(TRACKER.wait_open(100), 10)
        assert TRACKER.open == 100
        await session.send_text(json.dumps({"type": "ping"}))
        assert await receive_json(session) == {"type": "pong"}
    await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
    assert await settle(before) <= before


async def test_a_slow_query_completed_early_sends_nothing_for_its_id() -> None:
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("s", "{ slow(seconds: 30) }"))
        await session.send_text(json.dumps({"id": "s", "type": "complete"}))
        await session.send_text(subscribe("h", "{ hello }"))
        assert (await receive_json(session))["id"] == "h"
        assert (await receive_json(session)) == {"id": "h", "type": "complete"}


async def test_complete_stops_a_source_that_never_awaits() -> None:
    before = len(asyncio.all_tasks())
    async with session_for(ws_app(), [SUBPROTOCOL]) as session:
        await init(session)
        await session.send_text(subscribe("s", "subscription { spinning }"))
        for number in range(1, 301):
            message = await receive_json(session)
            assert message["payload"] == {"data": {"spinning": number}}
        await session.send_text(json.dumps({"id": "s", "type": "complete"}))
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
    assert await settle(before) <= before
