"""The room channels' subscriptions of one process (server/room/subscriber.py) on one Redis:
what Redis says of them is told apart from what this process asked for."""

from __future__ import annotations

from redis.asyncio import Redis

from server.redis_client import connect
from server.room.keys import RoomKeys
from server.room.subscriber import ShardedSubscriber
from stockkeeper.settings import StockSettings


async def test_a_room_left_and_joined_again_at_once_is_not_taken_for_a_moved_slot(
    redis: Redis, stock_settings: StockSettings
) -> None:
    """The confirmation of an unsubscription this process asked for is not Redis ending the
    subscription itself, even when the room was subscribed to again before it arrived."""
    rooms_client = connect(stock_settings.redis_url, decode=False)  # as the hub's
    subscriber = ShardedSubscriber(rooms_client)
    channel = RoomKeys("come-and-go").channel
    try:
        for _ in range(3):
            await subscriber.subscribe(channel)
            await subscriber.unsubscribe(channel)
        await subscriber.subscribe(channel)
        await redis.spublish(channel, b"still here")
        message = await subscriber.get_message(wait_s=5.0)  # raises SubscriptionLost if taken
        assert message is not None
        assert message["data"] == b"still here"
    finally:
        await subscriber.aclose()
        await rooms_client.aclose()
