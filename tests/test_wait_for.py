"""A cancellation is never lost while a task waits, on Python 3.11 too
(stockkeeper/wait_for.py): asyncio's own ``wait_for`` answered a cancellation that came
with the awaited result with the result, and redis-py writes every command through it."""

from __future__ import annotations

import asyncio
import random
import sys

import pytest
from redis.asyncio import Redis

from stockkeeper import wait_for as fixed


async def test_a_cancellation_that_comes_with_the_result_is_not_lost() -> None:
    """Guards the 3.11 behaviour: the task went on with the result, as if never cancelled."""
    done = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(asyncio.wait_for(done, 10))
    await asyncio.sleep(0)
    done.set_result("the reply")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="asyncio's own is right from 3.12")
def test_asyncio_waits_with_the_fixed_one() -> None:
    assert asyncio.wait_for is fixed.wait_for
    assert asyncio.tasks.wait_for is fixed.wait_for


async def test_it_waits_as_asyncio_wait_for_does() -> None:
    loop = asyncio.get_running_loop()

    async def later(value: str, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return value

    assert await fixed.wait_for(later("soon", 0), 1) == "soon"
    assert await fixed.wait_for(later("no limit", 0), None) == "no limit"
    with pytest.raises(TimeoutError):
        await fixed.wait_for(later("too late", 5), 0.01)
    ready = loop.create_future()
    ready.set_result("already there")
    assert await fixed.wait_for(ready, 0) == "already there"
    pending = loop.create_future()
    with pytest.raises(TimeoutError):
        await fixed.wait_for(pending, 0)
    assert pending.cancelled()


async def test_a_task_cancelled_in_the_middle_of_redis_commands_always_stops(
    redis: Redis,
) -> None:
    """Guards the loop that went on after its stop (half of 4,000 cancellations at random
    moments were lost in redis-py's write of a command): a background loop's stop then
    waited for ever, as a room test's did for 120 s in CI."""
    went_on = 0
    for _ in range(400):

        async def commands() -> None:
            while True:
                await redis.ping()
                await asyncio.sleep(0)

        task = asyncio.create_task(commands())
        await asyncio.sleep(random.uniform(0, 0.003))
        task.cancel()
        try:
            async with asyncio.timeout(2):
                await task
        except asyncio.CancelledError:
            continue
        except TimeoutError:
            went_on += 1
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert went_on == 0
