"""Sources for subscriptions: publish/subscribe within one process, or across workers.

A subscription's source is any async iterator: a field's `subscribe` resolver returns one,
and its `resolve` turns each item into the field's value. These two helpers publish JSON
values on named channels:

- `LocalPubSub`: within one process (one worker).
- `RedisPubSub`: across processes (several workers, several hosts) through Redis pub/sub;
  an event published in any worker reaches the subscribers of every worker. It needs the
  `redis` package (`pip install bareasgi-graphql[redis]`).

Each `subscribe(channel)` is an async generator: when its subscription ends (completed,
unsubscribed, the client gone) it is closed at once, and its subscription with it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, final

from .engine import encode_json

if TYPE_CHECKING:
    from redis.asyncio import Redis


@final
class _Subscriber:
    __slots__ = ("items", "limit", "waiter")

    def __init__(self, limit: int) -> None:
        self.items: deque[Any] = deque(maxlen=limit)
        self.limit = limit
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self.items.append(item)  # a slow subscriber loses its oldest items past the limit
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


@final
class LocalPubSub:
    """Publish/subscribe within one process.

    Args:
        max_pending: Items kept for a subscriber that has not taken them yet; past that its
            oldest are dropped (a slow client never grows memory without bound).
    """

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self._channels: dict[str, set[_Subscriber]] = {}

    def subscribers(self, channel: str) -> int:
        """How many subscriptions listen on `channel` now."""
        return len(self._channels.get(channel, ()))

    async def publish(self, channel: str, message: Any) -> None:
        """Give `message` to every subscription of `channel` (never waits for them)."""
        for subscriber in self._channels.get(channel, ()):
            subscriber.put(message)

    async def subscribe(self, channel: str) -> AsyncGenerator[Any, None]:
        """The messages published on `channel` from now on."""
        subscriber = _Subscriber(self.max_pending)
        self._channels.setdefault(channel, set()).add(subscriber)
        loop = asyncio.get_running_loop()
        items = subscriber.items
        try:
            while True:
                while items:
                    yield items.popleft()
                subscriber.waiter = loop.create_future()
                await subscriber.waiter
                subscriber.waiter = None
        finally:
            listeners = self._channels.get(channel)
            if listeners is not None:
                listeners.discard(subscriber)
                if not listeners:
                    del self._channels[channel]


@final
class RedisPubSub:
    """Publish/subscribe through Redis: every worker's subscribers get every worker's events.

    Messages are JSON values. Each subscription holds its own Redis pub/sub connection for
    as long as it lives (closed when the subscription ends).

    Args:
        url: The Redis server, e.g. `redis://127.0.0.1:6379/0`.
        prefix: Put before every channel name (to share a Redis server between apps).
    """

    def __init__(self, url: str, *, prefix: str = "") -> None:
        from redis.asyncio import Redis  # an optional dependency: the `redis` extra

        self.prefix = prefix
        self.redis: Redis = Redis.from_url(url)

    async def publish(self, channel: str, message: Any) -> int:
        """Publish `message` on `channel`; returns how many Redis subscribers got it."""
        receivers: int = await self.redis.publish(self.prefix + channel, encode_json(message))
        return receivers

    async def subscribe(self, channel: str) -> AsyncGenerator[Any, None]:
        """The messages published on `channel`, by any worker, from now on."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.prefix + channel)
            async for item in pubsub.listen():
                if item["type"] == "message":
                    yield json.loads(item["data"])
        finally:
            await pubsub.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (at shutdown)."""
        await self.redis.aclose()


__all__ = ["LocalPubSub", "RedisPubSub"]
