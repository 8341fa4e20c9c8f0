"""Helpers of the group buying tests: a group offer on sale, members joining and paying,
the group topics read back from Kafka and checked against their schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import jsonschema
from redis.asyncio import Redis

from stockkeeper.audit import read_records
from stockkeeper.groups import Group
from stockkeeper.keeper import StockKeeper
from stockkeeper.keys import GroupKeys, OfferKeys
from stockkeeper.scripts.groups import JoinReply
from stockkeeper.settings import StockSettings

from .helpers import open_offer

SCHEMAS = Path(__file__).parents[1] / "stockkeeper" / "schemas"


async def group_offer(
    keeper: StockKeeper,
    *,
    size: int = 3,
    price: int = 1500,
    window_s: int = 600,
    open_groups: bool = True,
    **overrides: Any,
) -> str:
    """An offer on sale now (regular price 1999), made a group offer; its id."""
    offer_id = await open_offer(keeper, **overrides)
    reply = await keeper.groups.setup(
        offer_id, price=price, size=size, window_s=window_s, open_groups=open_groups
    )
    assert reply.outcome == "ok", reply
    return offer_id


async def start(keeper: StockKeeper, offer_id: str, user: str) -> JoinReply:
    """``user`` starts a group (key derived from the user)."""
    return await keeper.groups.start(offer_id, user, f"Name {user}", f"start-{user}")


async def join(keeper: StockKeeper, group_id: str, user: str) -> JoinReply:
    """``user`` joins ``group_id`` (key derived from the user and group)."""
    return await keeper.groups.join(group_id, user, f"Name {user}", f"join-{user}-{group_id}")


async def end_window(keeper: StockKeeper, offer_id: str, group_id: str) -> None:
    """Move a group's window end to the past (as if its minutes had run out)."""
    await end_window_in(keeper.redis, offer_id, group_id)


async def end_window_in(redis: Redis, offer_id: str, group_id: str) -> None:
    """Move a group's window end to the past, over a plain Redis client."""
    g = GroupKeys(offer_id)
    await redis.hset(g.group(group_id), "ends_at", 1)
    await redis.zadd(g.forming, {group_id: 1})


async def orders_and_refunds(
    settings: StockSettings, orders: int, refunds: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The orders and refunds topics read back from Kafka (read committed), every record
    valid against its schema (orders v2, refunds v2)."""
    order_schema = json.loads((SCHEMAS / "order_confirmed.v2.json").read_text())
    refund_schema = json.loads((SCHEMAS / "refund_due.v2.json").read_text())
    found_orders = (
        [
            r.value
            for r in await read_records(
                settings.kafka_bootstrap, settings.orders_topic, expected=orders, settle_s=1.0
            )
        ]
        if orders
        else []
    )
    found_refunds = (
        [
            r.value
            for r in await read_records(
                settings.kafka_bootstrap, settings.refunds_topic, expected=refunds, settle_s=1.0
            )
        ]
        if refunds
        else []
    )
    for order in found_orders:
        jsonschema.validate(order, order_schema)
    for refund in found_refunds:
        jsonschema.validate(refund, refund_schema)
    return found_orders, found_refunds


def member_ids(group: Group) -> list[str]:
    """The user ids of a group's members, oldest first."""
    return [m.user_id for m in group.members]


async def outbox_entries(redis: Redis, offer_id: str) -> list[dict[str, str]]:
    """The fields of every entry of an offer's outbox, oldest first."""
    entries = await redis.xrange(OfferKeys(offer_id).outbox)
    return [cast(dict[str, str], fields) for _, fields in entries or []]
