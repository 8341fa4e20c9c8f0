"""Fulfilment's status events (``orders.status``): decoded, checked and applied in order.

An event is JSON described by stockkeeper/schemas/order_status.v1.json. Each is applied by
order_status.lua, which de-duplicates it and never moves an order back (status rank
first, then ``at`` within a status), and the buyer's screens are told of each change with
a private ``order_status`` room event. Bad events are answered with an outcome, never an
exception, so the consumer counts them and goes on.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from ..room.publisher import RoomPublisher
from .keys import PrizeOrderKeys
from .ledger import order_keys
from .order_scripts import OrderScripts, StatusOutcome, Tracking

log = logging.getLogger(__name__)

#: Statuses fulfilment reports, by rank: an order only ever moves to a higher one.
STATUS_RANKS = {"shipped": 1, "delivered": 2, "refunded": 3}

#: Every way one event can end, the metric's label.
EventOutcome = StatusOutcome | Literal["not_json", "invalid", "unknown_status"]


_Detail = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class StatusEvent(msgspec.Struct, forbid_unknown_fields=True):
    """One status event of schema version 1 (order_status.v1.json)."""

    schema: Literal["livesale.order_status"]
    schema_version: Literal[1]
    order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    status: str
    #: When it happened, RFC 3339 with a time zone ("2026-11-21T19:00:00.123Z").
    at: str
    carrier: _Detail | None = None
    tracking: _Detail | None = None


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one event: its outcome, and the order's tracking when known."""

    outcome: EventOutcome
    order_id: str = ""
    tracking: Tracking | None = None
    reason: str = ""


_DECODER = msgspec.json.Decoder(StatusEvent)


def at_ms(text: str) -> int | None:
    """Epoch ms of an RFC 3339 time with a time zone; None for anything else."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


def decode(raw: bytes) -> StatusEvent | Handled:
    """The event, or why it cannot be one (not JSON, or not of the schema)."""
    try:
        return _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        return Handled("invalid", reason=str(exc))
    except msgspec.DecodeError as exc:
        return Handled("not_json", reason=str(exc))


class StatusUpdates:
    """Applies status events to orders and tells the buyers' open pages."""

    def __init__(self, scripts: OrderScripts, publisher: RoomPublisher) -> None:
        self.scripts = scripts
        self.publisher = publisher

    async def handle(self, raw: bytes) -> Handled:
        """Apply one raw event. Redis being away raises (the event must be read again);
        anything wrong with the event itself is an outcome."""
        event = decode(raw)
        if isinstance(event, Handled):
            return event
        rank = STATUS_RANKS.get(event.status)
        if rank is None:
            return Handled("unknown_status", event.order_id, reason=event.status)
        when = at_ms(event.at)
        if when is None or not event.order_id:
            return Handled("invalid", event.order_id, reason=f"at {event.at!r}")
        order = order_keys(event.order_id)
        if order is None:
            return Handled("unknown_order", event.order_id)
        reply = await self.scripts.apply_status(
            order, event.status, rank, when, event.carrier or "", event.tracking or ""
        )
        tracking = reply.tracking
        if tracking is not None and tracking.pushed < tracking.version:
            # Also after a duplicate: the first delivery may have died before its push.
            if tracking.room_id:
                await self.publisher.publish(
                    tracking.room_id,
                    "order_status",
                    # A prize order has no hold.
                    status_event(
                        event.order_id,
                        tracking,
                        None if isinstance(order, PrizeOrderKeys) else order.hold_id,
                    ),
                    to_user=tracking.user_id,
                )
            await self.scripts.pushed(order, tracking.version)
        return Handled(reply.outcome, event.order_id, tracking)


def status_event(order_id: str, tracking: Tracking, hold_id: str | None) -> dict[str, object]:
    """The private ``order_status`` room event for the buyer."""
    return {
        "order_id": order_id,
        "hold_id": hold_id,
        "status": tracking.status,
        "carrier": tracking.carrier or None,
        "tracking": tracking.tracking or None,
        "status_at_ms": tracking.at_ms,
    }
