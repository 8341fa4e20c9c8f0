"""New holds written into buyers' orders behind the answers, in gathered passes
(server/orders/write_behind.py), on the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis

from server.orders.keys import purchases
from server.orders.ledger import Ledger
from server.orders.write_behind import RecordWriter
from stockkeeper.errors import StockUnavailable
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import OfferKeys
from stockkeeper.recorder import BuyerRecord

from .helpers import open_offer


@pytest.fixture
async def ledger(keeper: StockKeeper, redis: Redis) -> AsyncIterator[Ledger]:
    ledger = Ledger(redis, keeper)
    keeper.recorder = ledger
    yield ledger
    await ledger.close()


class Spy:
    """Counts the writer's calls to the real scripts (the calls still reach Redis)."""

    def __init__(self, ledger: Ledger) -> None:
        self.recorded: list[int] = []
        self.forgotten: list[int] = []
        scripts = ledger.scripts
        record_all, forget = scripts.record_all, scripts.forget

        async def counted_record_all(records: Sequence[BuyerRecord]) -> None:
            self.recorded.append(len(records))
            await record_all(records)

        async def counted_forget(entries: Sequence[tuple[str, str]]) -> None:
            self.forgotten.append(len(entries))
            await forget(entries)

        scripts.record_all = counted_record_all  # type: ignore[method-assign]
        scripts.forget = counted_forget  # type: ignore[method-assign]


async def press_many(keeper: StockKeeper, offer_id: str, buyers: int) -> list[Any]:
    return list(
        await asyncio.gather(
            *(keeper.reserve(offer_id, f"buyer-{n}", 1, f"press-{n}") for n in range(buyers))
        )
    )


async def in_orders(redis: Redis, user_id: str) -> list[str]:
    return [str(hold_id) for hold_id in await redis.zrange(purchases(user_id), 0, -1)]


async def test_a_moments_presses_are_written_in_one_pass_and_their_entries_deleted_in_the_next(
    keeper: StockKeeper, ledger: Ledger, redis: Redis
) -> None:
    """A storm's records cost one pass per moment, not one per press: the presses of a moment
    are written together, and their stream entries deleted alongside the next pass's
    records (here the last pass, with nothing new to write)."""
    spy = Spy(ledger)
    mug = await open_offer(keeper, stock=100)
    holds = await press_many(keeper, mug, 30)
    await ledger.writer.drain()
    assert spy.recorded == [30, 0]
    assert spy.forgotten == [0, 30]
    for n, hold in enumerate(holds):
        assert await in_orders(redis, f"buyer-{n}") == [hold.hold_id]
    assert await redis.xlen(OfferKeys(mug).records) == 0


async def test_a_buyer_reading_their_orders_does_not_wait_for_the_gathering(
    keeper: StockKeeper, ledger: Ledger
) -> None:
    ledger.writer = RecordWriter(ledger.scripts, gather_s=3600)
    mug = await open_offer(keeper)
    held = await keeper.reserve(mug, "ann", 1, "press-ann")
    async with asyncio.timeout(5):
        assert await ledger.hold_ids("ann") == [held.hold_id]
        await ledger.writer.drain()


async def test_entries_redis_would_not_delete_are_left_to_the_sweeper_and_the_writer_stops(
    keeper: StockKeeper, ledger: Ledger, redis: Redis
) -> None:
    """The records are in the buyers' orders; the entries stay in the stream. The writer does
    not retry them (it would spin while Redis is away): the sweeper writes them again, which
    changes nothing, and deletes them."""

    async def refused(entries: Sequence[tuple[str, str]]) -> None:
        raise StockUnavailable("Redis did not answer: connection refused")

    ledger.scripts.forget = refused  # type: ignore[method-assign]
    mug = await open_offer(keeper, stock=10)
    holds = await press_many(keeper, mug, 3)
    async with asyncio.timeout(5):
        await ledger.writer.drain()  # returns: the writer stopped
    assert await redis.xlen(OfferKeys(mug).records) == 3
    for n, hold in enumerate(holds):
        assert await in_orders(redis, f"buyer-{n}") == [hold.hold_id]
    del ledger.scripts.forget  # Redis is back
    assert await keeper.record_left_over(mug, older_than_s=0) == 3
    assert await redis.xlen(OfferKeys(mug).records) == 0
    for n, hold in enumerate(holds):
        assert await in_orders(redis, f"buyer-{n}") == [hold.hold_id]


async def test_stopping_the_app_writes_what_was_noted_and_deletes_what_was_written(
    keeper: StockKeeper, redis: Redis
) -> None:
    ledger = Ledger(redis, keeper)
    ledger.writer = RecordWriter(ledger.scripts, gather_s=3600)
    keeper.recorder = ledger
    mug = await open_offer(keeper, stock=10)
    holds = await press_many(keeper, mug, 4)
    async with asyncio.timeout(5):
        await ledger.close()
    assert await redis.xlen(OfferKeys(mug).records) == 0
    for n, hold in enumerate(holds):
        assert await in_orders(redis, f"buyer-{n}") == [hold.hold_id]


async def test_a_reader_is_not_left_waiting_when_the_writer_is_cut_off_mid_pass(
    keeper: StockKeeper, ledger: Ledger, redis: Redis
) -> None:
    """The app stopping cancels the writer in the middle of a pass: a buyer's read waiting
    for it returns (the record is safe in the stream for the sweeper)."""
    taken = asyncio.Event()

    async def stuck(records: Sequence[BuyerRecord]) -> None:
        taken.set()
        await asyncio.Event().wait()  # Redis never answers

    ledger.scripts.record_all = stuck  # type: ignore[method-assign]
    mug = await open_offer(keeper)
    await keeper.reserve(mug, "ann", 1, "press-ann")
    reader = asyncio.create_task(ledger.hold_ids("ann"))
    async with asyncio.timeout(5):
        await taken.wait()
        writing = ledger.writer._writing  # the app stopping cancels its tasks
        assert writing is not None
        writing.cancel()
        assert await reader == []
    assert await redis.xlen(OfferKeys(mug).records) == 1
    del ledger.scripts.record_all
