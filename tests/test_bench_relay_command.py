"""The relay benchmark (``livesale-bench relay``) relays every order in both of its modes.

This checks that the comparison is truthful (the same orders, all relayed, through the same
loop), not how fast anything is.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from loadtests.bench_relay import MODES, measure_round
from stockkeeper.audit import read_records
from stockkeeper.settings import StockSettings


async def test_both_relays_of_the_benchmark_publish_every_order(
    stock_settings: StockSettings,
) -> None:
    for mode in MODES:
        settings = dataclasses.replace(
            stock_settings,
            orders_topic=f"{stock_settings.orders_topic}.{mode}",
            relay_batch=20,
        )
        figures = await measure_round(settings, mode, offers=2, orders=100)
        assert (figures["orders"], figures["published"]) == (100, 100)
        assert figures["orders_per_s"] > 0
        records = await read_records(
            settings.kafka_bootstrap, settings.orders_topic, expected=100, settle_s=0.3
        )
        assert set(Counter(r.value["order_id"] for r in records).values()) == {1}
        assert len(records) == 100
