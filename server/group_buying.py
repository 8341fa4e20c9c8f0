"""Group buying in the live rooms: how a group looks to viewers, the room events that
follow it (group_started, group_updated, group_formed, group_failed), the sweeper's news,
and the show report's sections "groups" and "deals". The stock side is
stockkeeper/groups.py; docs/groups.md tells the whole story.

An open group's events go to the whole room (its page lists open groups); an invitation-
only group's go to its members only, so its id (the invitation) is not shown around.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from stockkeeper.groups import Group, run_group_sweeper
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import Offer

from .appkeys import KEEPER, REPORT_SECTIONS, ROOM_PUBLISHER, SETTINGS
from .room.publisher import RoomPublisher
from .shows.store import Show


async def groups_ctx(app: web.Application) -> AsyncIterator[None]:
    """Group buying in the app (after the rooms, whose publisher tells viewers): the report
    sections "groups" and "deals", and the group sweeper in every process that sweeps."""
    keeper, settings = app[KEEPER], app[SETTINGS]
    app[REPORT_SECTIONS].add("groups", groups_section(keeper))
    app[REPORT_SECTIONS].add("deals", deals_section(keeper))
    task: asyncio.Task[None] | None = None
    if settings.run_sweeper:
        news = RoomGroupNews(app[ROOM_PUBLISHER])
        sweep = run_group_sweeper(keeper.groups, news, settings.stock.sweep_interval_s)
        task = asyncio.create_task(sweep, name="group sweeper")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def invite_url(group: Group) -> str:
    """The invitation link that opens the viewer page on this group."""
    return f"/watch/{group.room_id}?group={group.id}"


def group_view(group: Group) -> dict[str, Any]:
    """What a room's viewers see of a group: members' names, seats left, the window."""
    return {
        "id": group.id,
        "offer_id": group.offer_id,
        "room_id": group.room_id,
        "state": group.state,
        "size": group.size,
        "price": group.price,
        "members": [{"name": m.name, "joined_at_ms": m.joined_at} for m in group.members],
        "seats_left": group.seats_left,
        "open": group.open,
        "leader_name": group.leader_name,
        "created_at_ms": group.created_at,
        "ends_at_ms": group.ends_at,
        "formed_at_ms": group.formed_at or None,
        "failed_at_ms": group.failed_at or None,
        "invite_url": invite_url(group),
    }


async def announce(publisher: RoomPublisher, type_: str, group: Group) -> None:
    """Publish ``type_`` with the group's view: to the room for an open group, else to
    each member."""
    data = {"group": group_view(group)}
    if group.open:
        await publisher.publish(group.room_id, type_, data)
        return
    for member in group.members:
        await publisher.publish(group.room_id, type_, data, to_user=member.user_id)


class RoomGroupNews:
    """The group sweeper's news as room events (stockkeeper.groups.GroupNews)."""

    def __init__(self, publisher: RoomPublisher) -> None:
        self.publisher = publisher

    async def groups_changed(self, failed: list[Group], left: list[Group]) -> None:
        """group_failed for each failed group, group_updated for each a member left."""
        for group in failed:
            await announce(self.publisher, "group_failed", group)
        for group in left:
            await announce(self.publisher, "group_updated", group)


def group_counts(groups: list[Group]) -> dict[str, int]:
    """Groups forming, formed and failed."""
    counts = Counter(g.state for g in groups)
    return {state: counts.get(state, 0) for state in ("forming", "formed", "failed")}


def groups_section(keeper: StockKeeper) -> Any:
    """The report section "groups": per group offer, groups forming, formed and failed,
    members and paid seats, and group orders."""

    async def section(show: Show) -> dict[str, Any]:
        offers = []
        totals: Counter[str] = Counter()
        for offer in await keeper.room_offers(show.room_id):
            if not offer.group_size:
                continue
            groups = await keeper.groups.of_offer(offer.id)
            counts = group_counts(groups)
            totals.update(counts)
            offers.append(
                {
                    "offer_id": offer.id,
                    "title": offer.title,
                    "group_size": offer.group_size,
                    "group_price": offer.group_price,
                    **counts,
                    "members": sum(len(g.members) for g in groups),
                    "members_in_formed": sum(len(g.members) for g in groups if g.state == "formed"),
                }
            )
        return {"offers": offers, **{s: totals.get(s, 0) for s in ("forming", "formed", "failed")}}

    return section


def saving(offer: Offer) -> int:
    """What one unit bought at the offer's price saves against its compare-at price."""
    return max(offer.compare_at_price - offer.unit_price, 0) if offer.compare_at_price else 0


def deals_section(keeper: StockKeeper) -> Any:
    """The report section "deals": the discount given by deal prices (compare-at price
    minus the price paid, per unit sold), by currency. Group orders count at the group
    price against the offer's compare-at price, else its regular price."""

    async def section(show: Show) -> dict[str, Any]:
        given: Counter[str] = Counter()
        offers = []
        for offer in await keeper.room_offers(show.room_id):
            groups = await keeper.groups.of_offer(offer.id) if offer.group_size else []
            formed_paid = sum(g.paid for g in groups if g.state == "formed")
            regular = offer.compare_at_price or offer.unit_price
            group_discount = formed_paid * max(regular - offer.group_price, 0)
            alone = max(offer.sold - formed_paid, 0) * saving(offer)
            if not (alone or group_discount or offer.compare_at_price):
                continue
            given[offer.currency] += alone + group_discount
            offers.append(
                {
                    "offer_id": offer.id,
                    "title": offer.title,
                    "unit_price": offer.unit_price,
                    "compare_at_price": offer.compare_at_price or None,
                    "discount_given": alone + group_discount,
                    "currency": offer.currency,
                }
            )
        return {"discount_given": dict(given), "offers": offers}

    return section
