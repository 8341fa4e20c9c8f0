"""``livesale-bench relay``: orders a second from the outbox into Kafka, with the relay's
transactions (exactly once) against its former idempotent producer (at least once).

Each round fills the outboxes of a few offers with confirmed orders (not timed), then runs a
relay in this process until they are empty. The rate is timed from the first batch Kafka
acknowledged to the empty outbox, so connecting and creating topics do not count. Both
relays take turns, round after round, so a busy moment on a shared machine hits both alike;
each figure is the median of its rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import statistics
import sys
import time
from typing import Any

import orjson
import uvloop
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from deploy import stack
from server.redis_client import connect
from stockkeeper import events
from stockkeeper.audit import read_topic
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import OfferSpec
from stockkeeper.relay import Entry, OutboxRelay, ensure_topics, outbox_depth
from stockkeeper.relay.transactions import RelayTransactions
from stockkeeper.settings import StockSettings

from .measure import machine, median_run

BENCH_DB = 13
MODES = ("transactions", "at_least_once")


class AtLeastOnceProducer(RelayTransactions):
    """The relay's producer before transactions: idempotent, acks=all, no fencing."""

    def __init__(self, settings: StockSettings, relay: str) -> None:
        super().__init__(settings, relay)
        self._plain: AIOKafkaProducer | None = None

    async def open(self) -> None:
        """Start an idempotent producer; nothing is known committed."""
        await ensure_topics(self.settings)
        self._plain = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            request_timeout_ms=10_000,
            retry_backoff_ms=200,
        )
        await self._plain.start()

    async def last_committed(self) -> list[tuple[str, str]]:
        """Nothing is known committed without transactions."""
        return []

    async def send(self, batch: list[Entry]) -> int:
        """Send the batch and wait for Kafka to acknowledge all of it."""
        assert self._plain is not None
        sends = []
        for entry in batch:
            event = events.outbound(
                entry.fields, self.settings.orders_topic, self.settings.refunds_topic
            )
            sends.append(await self._plain.send(event.topic, value=event.value, key=event.key))
        await asyncio.gather(*sends)
        return len(sends)

    async def commit(self) -> None:
        """Nothing to commit."""

    async def close(self) -> None:
        """Stop the producer."""
        if self._plain is not None:
            await self._plain.stop()
            self._plain = None


class AtLeastOnceRelay(OutboxRelay):
    """The relay as it was: the same loop over the outbox, without transactions."""

    async def _open(self, streams: list[str]) -> RelayTransactions:
        if self._transactions is None:
            self._transactions = AtLeastOnceProducer(self.settings, self.name)
            await self._transactions.open()
        return self._transactions


async def _fill(settings: StockSettings, redis: Redis, offers: int, orders: int) -> None:
    """``orders`` confirmed orders spread over ``offers`` offers, waiting in the outboxes."""
    keeper = StockKeeper(redis, settings)
    await keeper.start()
    try:
        each = orders // offers
        for o in range(offers):
            offer = await keeper.create_offer(
                OfferSpec(
                    room_id="bench-relay",
                    sku=f"RELAY-{o}",
                    title="Relay benchmark item",
                    unit_price=990,
                    currency="EUR",
                    stock=each,
                    per_user_limit=1,
                    hold_seconds=3600,
                )
            )
            await keeper.open_offer(offer.id, countdown_ms=0, window_ms=3_600_000)

            async def buy(n: int, offer_id: str = offer.id) -> None:
                held = await keeper.reserve(offer_id, f"u{n}", 1, f"press-{n}")
                assert held.hold_id is not None
                await keeper.confirm(held.hold_id, f"u{n}", f"psp-{offer_id}-{n}")

            for start in range(0, each, 500):
                await asyncio.gather(*(buy(n) for n in range(start, min(start + 500, each))))
    finally:
        await keeper.close()


async def measure_round(
    settings: StockSettings, mode: str, offers: int, orders: int
) -> dict[str, Any]:
    """One round of one relay: fill the outboxes (flushing the database first), then time
    the relay emptying them."""
    redis = connect(settings.redis_url)
    try:
        await redis.flushdb()
        await _fill(settings, redis, offers, orders)
        waiting = await outbox_depth(redis)
        relay_class = OutboxRelay if mode == "transactions" else AtLeastOnceRelay
        relay = relay_class(redis, settings, f"bench-{mode}")
        batches: list[float] = []
        first: list[tuple[float, int]] = []

        def sent(count: int, seconds: float) -> None:
            if not first:
                first.append((time.perf_counter(), count))
            batches.append(seconds)

        relay.on_sent = sent
        task = asyncio.create_task(relay.run())
        try:
            while await outbox_depth(redis) > 0:  # noqa: ASYNC110 - polling is the measurement
                await asyncio.sleep(0.005)
            done = time.perf_counter()
            # The relay counts a batch just after deleting it from the outbox: let it.
            deadline = done + 5
            while relay.published < waiting and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        started, first_batch = first[0]
        timed = done - started
        return {
            "mode": mode,
            "orders": waiting,
            "orders_per_s": round((waiting - first_batch) / timed) if timed > 0 else 0,
            "batches": len(batches),
            "batch_p50_ms": round(1000 * statistics.median(batches), 2),
            "published": relay.published,
        }
    finally:
        await redis.aclose()


def main(args: argparse.Namespace) -> None:
    """Run ``livesale-bench relay`` and print (and write) its figures."""
    stack.up()  # the local Redis and Kafka, unless they already run
    configured = StockSettings.from_env()
    run = secrets.token_hex(4)
    settings = {
        mode: dataclasses.replace(
            configured,
            redis_url=f"{configured.redis_url.rsplit('/', 1)[0]}/{BENCH_DB}",
            orders_topic=f"bench.orders.{run}.{mode}",
            refunds_topic=f"bench.refunds.{run}.{mode}",
            relay_state_topic=f"bench.relay-state.{run}",
            relay_batch=args.batch,
        )
        for mode in MODES
    }
    rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for n in range(1, args.rounds + 1):
        # Alternate which goes first, so neither always follows the other's backlog.
        for mode in MODES if n % 2 else MODES[::-1]:
            print(f"Round {n}/{args.rounds}: {mode}", flush=True)
            figures = measure_round(settings[mode], mode, args.offers, args.orders)
            rounds[mode].append(uvloop.run(figures))
    tx, plain = (median_run(rounds[mode], "orders_per_s") for mode in MODES)
    problems = uvloop.run(_check(settings, rounds))
    results: dict[str, Any] = {
        "machine": machine(),
        "orders_per_round": args.orders,
        "offers": args.offers,
        "relay_batch": args.batch,
        "rounds": args.rounds,
        "transactions": tx,
        "at_least_once": plain,
        "ratio_transactions_vs_at_least_once": round(tx["orders_per_s"] / plain["orders_per_s"], 2)
        if plain["orders_per_s"]
        else None,
        "all_rounds": rounds,
        "problems": problems,
    }
    print()
    print(f"Machine: {results['machine']['cores']} cores, {results['machine']['memory_gib']} GiB")
    print(f"{'':20}{'transactions':>14}{'at least once':>14}")
    for label, key in (("orders/s", "orders_per_s"), ("batch p50 ms", "batch_p50_ms")):
        print(f"{label:20}{tx[key]:>14}{plain[key]:>14}")
    print(f"Ratio: {results['ratio_transactions_vs_at_least_once']}")
    if args.out:
        with open(args.out, "wb") as f:
            f.write(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"Written to {args.out}")
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    print("Checked: every round relayed every order, and Kafka holds each transactional one once")


async def _check(
    settings: dict[str, StockSettings], rounds: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """What makes the figures untrustworthy: a round that did not relay all its orders, or a
    transactional topic without each order exactly once (read committed)."""
    problems = [
        f"{mode} round {n}: relayed {r['published']} of {r['orders']} orders"
        for mode, runs in rounds.items()
        for n, r in enumerate(runs, 1)
        if r["published"] != r["orders"]
    ]
    tx = settings["transactions"]
    expected = sum(r["orders"] for r in rounds["transactions"])
    # Every round reuses the same order ids (the database is flushed), so count, not ids.
    messages = await read_topic(tx.kafka_bootstrap, tx.orders_topic, expected, timeout_s=60)
    if len(messages) != expected:
        problems.append(f"transactions: {len(messages)} orders in Kafka for {expected} relayed")
    return problems
