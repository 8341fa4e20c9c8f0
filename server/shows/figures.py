"""The figures of a show: the host's live dashboard and the report at the end."""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from typing import Any, cast

from redis.asyncio import Redis

from stockkeeper.keeper import StockKeeper
from stockkeeper.models import Offer

from ..audience.numbers import timeline_csv
from ..audience.rates import show_rates
from ..lineup import shown_state
from ..room.hub import live_viewers
from ..room.keys import RoomKeys
from .store import Show

#: An open offer with this share of its stock left or less gets a low-stock warning.
LOW_STOCK_SHARE = 0.1


def offer_figures(offer: Offer) -> dict[str, Any]:
    """An offer's sales figures for the dashboard and the report."""
    low_at = max(1, int(offer.total * LOW_STOCK_SHARE))
    return {
        "offer_id": offer.id,
        "sku": offer.sku,
        "title": offer.title,
        "image_url": offer.image_url,
        "state": shown_state(offer),
        "unit_price": offer.unit_price,
        "currency": offer.currency,
        "per_user_limit": offer.per_user_limit,
        "countdown_s": offer.countdown_s,
        "window_s": offer.window_s,
        "opens_at_ms": offer.opens_at,
        "closes_at_ms": offer.closes_at,
        "total": offer.total,
        "available": offer.available,
        "held": offer.held,
        "sold": offer.sold,
        "reservations": offer.reservations,
        "orders": offer.orders,
        "gmv": offer.sold * offer.unit_price,
        "sell_through": round(offer.sold / offer.total, 4) if offer.total else 0.0,
        "low_stock": offer.state == "open" and 0 < offer.available <= low_at,
    }


async def show_figures(redis: Redis, keeper: StockKeeper, show: Show) -> dict[str, Any]:
    """Everything the host dashboard shows, read in a handful of round trips."""
    offers = await keeper.room_offers(show.room_id)
    buyers = await keeper.buyers(offers)
    k = RoomKeys(show.room_id)
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(k.viewers)
    pipe.zscore(k.peak_viewers, "viewers")
    pipe.get(k.likes)
    pipe.hgetall(k.chat_minutes)
    per_process, peak, likes, chat_minutes = await pipe.execute()
    now = int(time.time() * 1000)
    viewers = live_viewers(cast(dict[str, str], per_process), now)
    peak_viewers = max(int(peak or 0), viewers)
    chat = {int(minute): int(count) for minute, count in chat_minutes.items()}
    minute, into = divmod(now, 60_000)
    # A sliding minute: this minute so far plus the part of the last one still inside it.
    chat_per_minute = chat.get(minute, 0) + chat.get(minute - 1, 0) * (1 - into / 60_000)
    rates = await show_rates(redis, show.room_id, buyers)
    gmv: dict[str, int] = defaultdict(int)
    for offer in offers:
        gmv[offer.currency] += offer.sold * offer.unit_price
    return {
        "room_id": show.room_id,
        "title": show.title,
        "status": show.status,
        "host_id": show.host_id,
        "created_at_ms": show.created_at,
        "live_at_ms": show.live_at,
        "ended_at_ms": show.ended_at,
        "server_time_ms": now,
        "viewers": viewers,
        "viewers_peak": peak_viewers,
        "likes": int(likes or 0),
        "chat_messages": sum(chat.values()),
        "chat_per_minute": round(chat_per_minute, 1),
        "reservations": sum(offer.reservations for offer in offers),
        "orders": sum(offer.orders for offer in offers),
        "units_sold": sum(offer.sold for offer in offers),
        "holds_pending": sum(offer.held for offer in offers),
        "gmv": dict(gmv),
        # Over distinct viewers, not peak viewers (a show of short visits passed 100%).
        **rates.as_dict(),
        "offers": [offer_figures(offer) for offer in offers],
    }


REPORT_COLUMNS = (
    "offer_id",
    "sku",
    "title",
    "currency",
    "unit_price",
    "total",
    "sold",
    "sell_through",
    "orders",
    "reservations",
    "gmv",
    "available",
    "held",
)


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV: one row per offer, then the show's totals, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for offer in report["offers"]:
        writer.writerow([_cell(offer[column]) for column in REPORT_COLUMNS])
    writer.writerow([])
    writer.writerow(["show", "value"])
    for name in (
        "room_id",
        "title",
        "viewers_peak",
        "likes",
        "chat_messages",
        "reservations",
        "orders",
        "units_sold",
        "distinct_viewers",
        "chatters",
        "buyers",
        "interaction_rate",
        "conversion",
    ):
        writer.writerow([name, _cell(report.get(name, ""))])
    for currency, amount in sorted(report["gmv"].items()):
        writer.writerow([f"gmv_{currency}", amount])
    timeline = report.get("sections", {}).get("audience", {}).get("timeline")
    if timeline:
        writer.writerow([])
        out.write(timeline_csv(timeline))
    return out.getvalue()


def _cell(value: Any) -> str:
    text = str(value)
    # Spreadsheets run cells that start with these as formulas; a title never should.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
