"""Versioned events for Kafka, built from outbox entries.

The outbox holds flat string fields written by the Lua scripts; this module turns them into
the JSON documents described by ``schemas/*.json``. Add a new schema file (and bump the
version the builder writes) for any change a consumer could notice.

Entry types:

- ``order_confirmed``: an order (version 2 since interactive selling: ``kind``, discounts,
  coupons, groups, giveaway prizes); optional fields may be left out by the script that
  writes the entry, and read as "none" (0 for money).
- ``refund_due``: a payment owed back.
- ``event``: an event another feature (giveaways, reminders, stock warnings...) built
  itself: fields ``topic``, ``key`` and ``value`` (the JSON document, already encoded and
  described by that feature's schema) are sent as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

#: Version of the refund records built here (2: reason group_failed and group_id, issue 15;
#: version 1 is the same without them).
SCHEMA_VERSION = 2
#: Version of the order records built here (version 1 is documented in docs/fulfilment.md).
ORDER_SCHEMA_VERSION = 2
#: What an order is for: a sale (possibly in a group) or a giveaway prize.
ORDER_KINDS = ("purchase", "giveaway")


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    """A message for Kafka: topic, key (the order id) and JSON value."""

    topic: str
    key: bytes
    value: bytes


def iso_ms(epoch_ms: str | int) -> str:
    """Epoch milliseconds as an ISO-8601 UTC timestamp, e.g. 2026-11-21T19:00:00.123Z."""
    moment = datetime.fromtimestamp(int(epoch_ms) / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(fields: dict[str, str], name: str) -> str | None:
    """An optional text field: missing or empty reads as none."""
    return fields.get(name) or None


def _minor(fields: dict[str, str], name: str) -> int:
    """An optional amount in minor units: missing or empty reads as 0."""
    return int(fields.get(name) or 0)


def order_confirmed(fields: dict[str, str]) -> dict[str, Any]:
    """The Kafka record of a confirmed order (schema version 2), from its outbox entry.

    ``amount`` is what the buyer paid: quantity x unit_price - discount - credit."""
    kind = fields.get("kind") or "purchase"
    if kind not in ORDER_KINDS:
        raise ValueError(f"Unknown order kind {kind!r}")
    compare_at = fields.get("compare_at_price")
    reserved_at = fields.get("reserved_at")
    shipping = fields.get("shipping")
    return {
        "schema": "livesale.order_confirmed",
        "schema_version": ORDER_SCHEMA_VERSION,
        "kind": kind,
        "order_id": fields["order_id"],
        "hold_id": _text(fields, "hold_id"),
        "offer_id": _text(fields, "offer_id"),
        "giveaway_id": _text(fields, "giveaway_id"),
        "group_id": _text(fields, "group_id"),
        "room_id": fields["room_id"],
        "sku": fields["sku"],
        "user_id": fields["user_id"],
        "quantity": int(fields["quantity"]),
        "unit_price": int(fields["unit_price"]),
        "compare_at_price": int(compare_at) if compare_at else None,
        "discount": _minor(fields, "discount"),
        "coupon_id": _text(fields, "coupon_id"),
        "credit": _minor(fields, "credit"),
        "amount": int(fields["amount"]),
        "currency": fields["currency"],
        "reserved_at": iso_ms(reserved_at) if reserved_at else None,
        "confirmed_at": iso_ms(fields["confirmed_at"]),
        "payment_ref": _text(fields, "payment_ref"),
        "shipping": orjson.loads(shipping) if shipping else None,
    }


def refund_due(fields: dict[str, str]) -> dict[str, Any]:
    """The Kafka record of a payment owed back, from its outbox entry."""
    return {
        "schema": "livesale.refund_due",
        "schema_version": SCHEMA_VERSION,
        "refund_id": f"{fields['hold_id']}:{fields['payment_ref']}",
        "reason": fields["reason"],
        "hold_id": fields["hold_id"],
        "order_id": fields["order_id"] or None,
        "offer_id": fields["offer_id"],
        "room_id": fields["room_id"],
        "sku": fields["sku"],
        "user_id": fields["user_id"],
        "quantity": int(fields["quantity"]),
        "amount": int(fields["amount"]),
        "currency": fields["currency"],
        "payment_ref": fields["payment_ref"],
        "created_at": iso_ms(fields["created_at"]),
        "group_id": _text(fields, "group_id"),
    }


def outbound(fields: dict[str, str], orders_topic: str, refunds_topic: str) -> OutboundEvent:
    """The Kafka message for one outbox entry, keyed by order id (refund id for refunds)."""
    if fields["type"] == "order_confirmed":
        event = order_confirmed(fields)
        return OutboundEvent(orders_topic, event["order_id"].encode(), orjson.dumps(event))
    if fields["type"] == "refund_due":
        event = refund_due(fields)
        return OutboundEvent(refunds_topic, event["refund_id"].encode(), orjson.dumps(event))
    if fields["type"] == "event":
        return OutboundEvent(fields["topic"], fields["key"].encode(), fields["value"].encode())
    raise ValueError(f"Unknown outbox entry type {fields['type']!r}")


def event_entry(topic: str, key: str, event: dict[str, Any]) -> dict[str, str]:
    """The outbox fields of an ``event`` entry carrying ``event`` to ``topic``."""
    return {"type": "event", "topic": topic, "key": key, "value": orjson.dumps(event).decode()}
