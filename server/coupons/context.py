"""The coupons package in the app: drops and rains, checkout, the report section, the goals'
"coupon_drop" reward, and the repairer's task for the app's life."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..appkeys import (
    CHECKOUT,
    COUPONS,
    GOAL_REWARDS,
    KEEPER,
    REDIS,
    REPORT_SECTIONS,
    ROOM_PUBLISHER,
    SETTINGS,
)
from ..errors import Conflict, ErrorCode, Invalid
from ..shows.store import Show
from .checkout import Checkout
from .keys import PREFIX
from .models import MAX_QUOTA, DropSpec
from .repair import run_repairer
from .store import CouponStore
from .wallet import report_section


async def coupons_ctx(app: web.Application) -> AsyncIterator[None]:
    """Coupons over the app's Redis (after the rooms', whose publisher tells viewers)."""
    redis = app[REDIS]
    app[COUPONS] = store = CouponStore(redis, app[ROOM_PUBLISHER])
    app[CHECKOUT] = checkout = Checkout(redis, app[KEEPER], scripts=store.scripts)
    app[REPORT_SECTIONS].add("coupons", report_section(store))
    app[GOAL_REWARDS].add("coupon_drop", drop_starter(store), check=check_drop_reward)
    task: asyncio.Task[None] | None = None
    if app[SETTINGS].run_sweeper:
        task = asyncio.create_task(run_repairer(redis, store, checkout), name="coupon repairer")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.close()


def drop_spec(spec: dict[str, Any]) -> DropSpec:
    """A goal reward's coupon drop: ``title``, ``quota`` and ``amount_off`` or
    ``percent_off``, optional ``min_spend``, ``offer_id``, ``per_viewer``,
    ``claim_seconds``, ``valid_seconds`` (the fields of POST .../coupon-drops)."""

    def whole(name: str, low: int, high: int, default: int | None = None) -> int:
        value = spec.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Invalid(
                ErrorCode.OUT_OF_RANGE,
                f"A coupon drop's {name!r} must be {low}-{high}.",
                field=name,
                min=low,
                max=high,
            )
        return value

    percent = "percent_off" in spec
    title = spec.get("title", "Goal reached!")
    if not isinstance(title, str) or not 1 <= len(title) <= 80:
        raise Invalid(
            ErrorCode.INVALID_FIELD, "A coupon drop's title is 1-80 characters.", field="title"
        )
    claim = whole("claim_seconds", 10, 3600, 60)
    return DropSpec(
        title=title,
        off_kind="percent" if percent else "amount",
        off_value=whole("percent_off", 1, 100) if percent else whole("amount_off", 1, 10**9),
        quota=whole("quota", 1, MAX_QUOTA),
        min_spend=whole("min_spend", 0, 10**9, 0),
        offer_id=str(spec.get("offer_id") or ""),
        per_viewer=whole("per_viewer", 1, 10, 1),
        claim_seconds=claim,
        valid_seconds=whole("valid_seconds", claim, 30 * 86_400, max(3600, claim)),
    )


def check_drop_reward(spec: dict[str, Any]) -> None:
    """Vet a goal tier's coupon drop when the host sets the goals."""
    drop_spec(spec)


def drop_starter(store: CouponStore) -> Any:
    """The goals' "coupon_drop" reward: create and start the drop, once per ``reward_id``."""

    async def start(show: Show, spec: dict[str, Any]) -> None:
        marker = f"{PREFIX}:{{room:{show.room_id}}}:coupon-reward:{spec['reward_id']}"
        drop_id = await store.redis.get(marker)
        if drop_id is None:
            drop = await store.create_drop(show.room_id, drop_spec(spec))
            if not await store.redis.set(marker, drop.activity_id, nx=True):
                await store.end(drop)  # another process made it first: keep theirs
                drop_id = await store.redis.get(marker)
            else:
                drop_id = drop.activity_id
        activity = await store.get(str(drop_id))
        if activity is not None and activity.status == "ready":
            with contextlib.suppress(Conflict):  # started by another process meanwhile
                await store.start(activity)

    return start
