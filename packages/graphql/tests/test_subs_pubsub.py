"""LocalPubSub: every subscriber gets every message, a closed subscription is forgotten at
once, and a slow subscriber keeps only the newest `max_pending` items."""

from __future__ import annotations

import asyncio

from bareasgi_graphql import LocalPubSub


async def test_every_subscriber_gets_every_message_in_order() -> None:
    pubsub = LocalPubSub()
    first, second = pubsub.subscribe("news"), pubsub.subscribe("news")
    # An async generator subscribes when first awaited.
    next_first = asyncio.ensure_future(anext(first))
    next_second = asyncio.ensure_future(anext(second))
    while pubsub.subscribers("news") < 2:
        await asyncio.sleep(0)
    await pubsub.publish("news", {"n": 1})
    await pubsub.publish("other", {"n": 0})
    await pubsub.publish("news", {"n": 2})
    assert await next_first == {"n": 1}
    assert await next_second == {"n": 1}
    assert await anext(first) == {"n": 2}
    assert await anext(second) == {"n": 2}
    await first.aclose()
    assert pubsub.subscribers("news") == 1
    await second.aclose()
    assert pubsub.subscribers("news") == 0


async def test_a_subscription_cancelled_while_waiting_is_forgotten() -> None:
    pubsub = LocalPubSub()
    stream = pubsub.subscribe("news")
    waiting = asyncio.ensure_future(anext(stream))
    while pubsub.subscribers("news") < 1:
        await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert pubsub.subscribers("news") == 0


async def test_a_slow_subscriber_keeps_the_newest_items() -> None:
    pubsub = LocalPubSub(max_pending=3)
    stream = pubsub.subscribe("news")
    waiting = asyncio.ensure_future(anext(stream))
    while pubsub.subscribers("news") < 1:
        await asyncio.sleep(0)
    await pubsub.publish("news", 0)
    assert await waiting == 0
    for number in range(1, 10):
        await pubsub.publish("news", number)
    assert [await anext(stream) for _ in range(3)] == [7, 8, 9]
    await stream.aclose()
