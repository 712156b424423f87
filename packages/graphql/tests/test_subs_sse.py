"""graphql-sse, both modes: events in order, errors where the protocol puts them, and every
source closed at once when its stream, its DELETE or its client ends it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from subs_helpers import EventReader, TestClient, fresh_source_counts, settle, sse_app  # noqa: F401 (an autouse fixture)
from subs_schema import TRACKER

from bareasgi_graphql import graphql_state

STREAM: dict[str, str] = {"accept": "text/event-stream"}
COUNTDOWN = "subscription ($from: Int!) { countdown(from: $from) }"
TOKEN = "x-graphql-event-stream-token"


async def test_distinct_post_streams_a_countdown_in_order_then_complete() -> None:
    before = len(asyncio.all_tasks())
    async with (
        TestClient(sse_app()) as client,
        client.stream(
            "POST",
            "/graphql",
            json={"query": COUNTDOWN, "variables": {"from": 3}},
            headers=STREAM,
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        reader = EventReader(response)
        for number in (3, 2, 1, 0):
            assert await reader.next() == ("next", {"data": {"countdown": number}})
        assert await reader.next() == ("complete", None)
    assert await settle(before) <= before
    assert TRACKER.open == 0


async def test_distinct_get_runs_a_query_and_refuses_a_mutation() -> None:
    async with TestClient(sse_app()) as client:
        async with client.stream(
            "GET", "/graphql", params={"query": "{ hello }"}, headers=STREAM
        ) as response:
            reader = EventReader(response)
            assert await reader.next() == ("next", {"data": {"hello": "world"}})
            assert await reader.next() == ("complete", None)
        response = await client.get(
            "/graphql", params={"query": "mutation { bump }"}, headers=STREAM
        )
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        response = await client.post(
            "/graphql", json={"query": "mutation { bump }"}, headers=STREAM
        )
        assert response.status_code == 200
        assert (
            response.text == 'event: next\ndata: {"data":{"bump":1}}\n\nevent: complete\ndata: \n\n'
        )


async def test_distinct_validation_errors_come_through_the_accepted_stream() -> None:
    async with TestClient(sse_app()) as client:
        response = await client.post(
            "/graphql", json={"query": "subscription { nope }"}, headers=STREAM
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [block for block in response.text.split("\n\n") if block]
        assert len(events) == 2
        assert events[0].startswith("event: next\ndata: ")
        assert "nope" in json.loads(events[0].split("data: ", 1)[1])["errors"][0]["message"]
        assert events[1] == "event: complete\ndata: "


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"query": 1}', "application/json", 400),
        (b'{"variables": {}}', "application/json", 400),
        (b"query={hello}", "application/x-www-form-urlencoded", 415),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),  # nested too deeply
    ],
)
async def test_distinct_bad_requests_are_answered_as_graphql_over_http(
    content: bytes, content_type: str, status: int
) -> None:
    async with TestClient(sse_app()) as client:
        response = await client.post(
            "/graphql",
            content=content,
            headers={**STREAM, "content-type": content_type},
        )
        assert response.status_code == status


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b'[{"query": "{ hello }"}]', b"1", b"[" * 100_000 + b"]" * 100_000],
)
async def test_a_bad_body_gets_the_same_answer_from_both_http_transports(content: bytes) -> None:
    """graphql-sse reads a POST body as GraphQL over HTTP does (one parser, one message)."""
    async with TestClient(sse_app()) as client:
        headers = {"content-type": "application/json"}
        plain = await client.post("/graphql", content=content, headers=headers)
        stream = await client.post("/graphql", content=content, headers={**STREAM, **headers})
        assert plain.status_code == stream.status_code == 400
        assert plain.json() == stream.json()


async def test_distinct_client_leaving_closes_a_blocked_source_at_once() -> None:
    before = len(asyncio.all_tasks())
    async with TestClient(sse_app()) as client:
        async with client.stream(
            "POST", "/graphql", json={"query": "subscription { forever }"}, headers=STREAM
        ) as response:
            reader = EventReader(response)
            await asyncio.wait_for(TRACKER.wait_open(1), 10)
            assert response.status_code == 200
            del reader
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
    assert await settle(before) <= before


async def test_distinct_failing_source_is_masked() -> None:
    async with TestClient(sse_app()) as client:
        response = await client.post(
            "/graphql", json={"query": "subscription { failing }"}, headers=STREAM
        )
        assert '{"data":{"failing":1}}' in response.text
        assert '{"errors":[{"message":"Internal server error"}]}' in response.text
        assert "secret" not in response.text
        assert response.text.endswith("event: complete\ndata: \n\n")
    assert TRACKER.open == 0


async def test_keep_alive_comments_on_an_idle_stream() -> None:
    async with (
        TestClient(sse_app(sse_keep_alive=0.05)) as client,
        client.stream(
            "POST", "/graphql", json={"query": "subscription { forever }"}, headers=STREAM
        ) as response,
    ):
        chunks = response.aiter_raw()
        seen = b""
        while seen.count(b":\n\n") < 3:
            seen += await asyncio.wait_for(anext(chunks), 10)
        assert seen == b":\n\n" * (seen.count(b":\n\n"))
    await asyncio.wait_for(TRACKER.wait_all_closed(), 10)


async def reserve(client: Any) -> str:
    response = await client.put("/graphql")
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    token: str = response.text
    return token


async def operate(client: Any, token: str, operation_id: str, query: str, **more: Any) -> Any:
    return await client.post(
        "/graphql",
        json={"query": query, "extensions": {"operationId": operation_id}, **more},
        headers={TOKEN: token},
    )


async def test_single_connection_two_operations_stop_and_resubscribe() -> None:
    before = len(asyncio.all_tasks())
    app = sse_app()
    async with TestClient(app) as client:
        token = await reserve(client)
        async with client.stream("GET", "/graphql", headers={**STREAM, TOKEN: token}) as stream:
            assert stream.status_code == 200
            reader = EventReader(stream)
            response = await operate(client, token, "f", "subscription { forever }")
            assert response.status_code == 202
            response = await operate(client, token, "c", COUNTDOWN, variables={"from": 2})
            assert response.status_code == 202
            for number in (2, 1, 0):
                assert await reader.next() == (
                    "next",
                    {"id": "c", "payload": {"data": {"countdown": number}}},
                )
            assert await reader.next() == ("complete", {"id": "c"})
            # A second stream for the same token is refused.
            response = await client.get("/graphql", headers={**STREAM, TOKEN: token})
            assert response.status_code == 409
            # Stop the blocked one: its source closes at once; its id is free again.
            await asyncio.wait_for(TRACKER.wait_open(1), 10)
            response = await client.delete(
                "/graphql", params={"operationId": "f"}, headers={TOKEN: token}
            )
            assert response.status_code == 200
            await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
            response = await operate(client, token, "f", COUNTDOWN, variables={"from": 0})
            assert response.status_code == 202
            assert await reader.next() == (
                "next",
                {"id": "f", "payload": {"data": {"countdown": 0}}},
            )
            assert await reader.next() == ("complete", {"id": "f"})
            # One more left running: the stream's end closes it.
            response = await operate(client, token, "g", "subscription { forever }")
            await asyncio.wait_for(TRACKER.wait_open(1), 10)
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
        assert graphql_state(app).sse is not None
        assert graphql_state(app).sse.reservations == 0  # type: ignore[union-attr]
        # The token is gone with its stream.
        response = await operate(client, token, "h", "{ hello }")
        assert response.status_code == 404
    assert await settle(before) <= before


async def test_single_connection_query_events_before_the_stream_are_kept() -> None:
    async with TestClient(sse_app()) as client:
        token = await reserve(client)
        response = await operate(client, token, "q", "{ hello }")
        assert response.status_code == 202
        async with client.stream("GET", f"/graphql?token={token}", headers=STREAM) as stream:
            reader = EventReader(stream)
            assert await reader.next() == (
                "next",
                {"id": "q", "payload": {"data": {"hello": "world"}}},
            )
            assert await reader.next() == ("complete", {"id": "q"})


async def test_single_connection_bad_requests() -> None:
    async with TestClient(sse_app()) as client:
        assert (
            await client.put("/graphql", headers={"accept": "application/json"})
        ).status_code == 406
        token = await reserve(client)
        assert (await operate(client, "nope", "1", "{ hello }")).status_code == 404
        assert (await client.get("/graphql", headers={**STREAM, TOKEN: "nope"})).status_code == 404
        response = await client.post(
            "/graphql", json={"query": "{ hello }"}, headers={TOKEN: token}
        )
        assert response.status_code == 400
        assert "operationId" in response.json()["errors"][0]["message"]
        response = await operate(client, token, "1", "subscription { nope }")
        assert response.status_code == 400
        assert "nope" in response.json()["errors"][0]["message"]
        assert (await operate(client, token, "2", "subscription { forever }")).status_code == 202
        assert (await operate(client, token, "2", "{ hello }")).status_code == 409
        response = await client.delete("/graphql", headers={TOKEN: token})
        assert response.status_code == 400
        response = await client.delete("/graphql", params={"operationId": "2"})
        assert response.status_code == 404
        response = await client.delete(
            "/graphql", params={"operationId": "2"}, headers={TOKEN: token}
        )
        assert response.status_code == 200
    await asyncio.wait_for(TRACKER.wait_all_closed(), 10)


async def test_single_connection_limit_answers_the_one_over_through_the_stream() -> None:
    async with TestClient(sse_app(max_subscriptions=2)) as client:
        token = await reserve(client)
        async with client.stream("GET", "/graphql", headers={**STREAM, TOKEN: token}) as stream:
            reader = EventReader(stream)
            for name in ("a", "b", "c"):
                response = await operate(client, token, name, "subscription { forever }")
                assert response.status_code == 202
            event, data = await reader.next()
            assert event == "next"
            assert data["id"] == "c"
            assert "max_subscriptions" in data["payload"]["errors"][0]["message"]
            assert await reader.next() == ("complete", {"id": "c"})
    await asyncio.wait_for(TRACKER.wait_all_closed(), 10)


async def test_a_reservation_never_connected_expires() -> None:
    app = sse_app(sse_reservation_timeout=0.05)
    async with TestClient(app) as client:
        token = await reserve(client)
        assert (await operate(client, token, "f", "subscription { forever }")).status_code == 202
        await asyncio.wait_for(TRACKER.wait_open(1), 10)
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
        sse = graphql_state(app).sse
        assert sse is not None
        assert sse.reservations == 0
        response = await client.get("/graphql", headers={**STREAM, TOKEN: token})
        assert response.status_code == 404


async def test_plain_graphql_over_http_is_untouched() -> None:
    async with TestClient(sse_app()) as client:
        response = await client.post("/graphql", json={"query": "{ hello }"})
        assert response.status_code == 200
        assert response.json() == {"data": {"hello": "world"}}
    async with TestClient(sse_app(sse=False)) as client:
        response = await client.put("/graphql")
        assert response.status_code == 405


@pytest.mark.parametrize(
    ("accept", "streamed"),
    [
        ("text/event-stream", True),
        ("text/event-stream, application/json", True),
        ("application/json, text/event-stream", False),
        ("application/json;q=0.5, text/event-stream", True),
        ("text/event-stream;q=0, application/json", False),
        ("application/graphql-response+json, text/event-stream;q=0.9", False),
    ],
)
async def test_an_event_stream_when_the_client_prefers_one(accept: str, streamed: bool) -> None:
    async with TestClient(sse_app()) as client:
        response = await client.post(
            "/graphql", json={"query": "{ hello }"}, headers={"accept": accept}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream") is streamed


async def test_a_source_that_never_awaits_is_held_back_by_its_reader_and_stops_with_it() -> None:
    before = len(asyncio.all_tasks())
    app = sse_app()
    async with TestClient(app) as client:
        async with client.stream(
            "POST", "/graphql", json={"query": "subscription { spinning }"}, headers=STREAM
        ) as response:
            reader = EventReader(response)
            for number in range(1, 301):
                assert await reader.next() == ("next", {"data": {"spinning": number}})
        await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
        # Single connection mode: the same, stopped by DELETE.
        token = await reserve(client)
        async with client.stream("GET", "/graphql", headers={**STREAM, TOKEN: token}) as stream:
            reader = EventReader(stream)
            assert (
                await operate(client, token, "s", "subscription { spinning }")
            ).status_code == 202
            for number in range(1, 301):
                assert await reader.next() == (
                    "next",
                    {"id": "s", "payload": {"data": {"spinning": number}}},
                )
            response = await client.delete(
                "/graphql", params={"operationId": "s"}, headers={TOKEN: token}
            )
            assert response.status_code == 200
            await asyncio.wait_for(TRACKER.wait_all_closed(), 10)
    assert await settle(before) <= before


async def test_reservations_past_the_cap_are_refused_with_503() -> None:
    app = sse_app()
    sse = graphql_state(app).sse
    assert sse is not None
    sse.max_reservations = 2
    async with TestClient(app) as client:
        assert (await client.put("/graphql")).status_code == 201
        assert (await client.put("/graphql")).status_code == 201
        response = await client.put("/graphql")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
