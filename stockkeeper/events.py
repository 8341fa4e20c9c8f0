"""Versioned events for fulfilment, built from outbox entries.

The outbox holds flat string fields written by the Lua scripts; this module turns them into
the JSON documents described by ``schemas/*.json``. Bump ``SCHEMA_VERSION`` (and add a new
schema file) for any change a consumer could notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

SCHEMA_VERSION = 1


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


def order_confirmed(fields: dict[str, str]) -> dict[str, Any]:
    """The Kafka record of a confirmed order, from its outbox entry."""
    return {
        "schema": "livesale.order_confirmed",
        "schema_version": SCHEMA_VERSION,
        "order_id": fields["order_id"],
        "hold_id": fields["hold_id"],
        "offer_id": fields["offer_id"],
        "room_id": fields["room_id"],
        "sku": fields["sku"],
        "user_id": fields["user_id"],
        "quantity": int(fields["quantity"]),
        "unit_price": int(fields["unit_price"]),
        "amount": int(fields["amount"]),
        "currency": fields["currency"],
        "reserved_at": iso_ms(fields["reserved_at"]),
        "confirmed_at": iso_ms(fields["confirmed_at"]),
        "payment_ref": fields["payment_ref"],
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
    }


def outbound(fields: dict[str, str], orders_topic: str, refunds_topic: str) -> OutboundEvent:
    """The Kafka message for one outbox entry, keyed by order id (refund id for refunds)."""
    if fields["type"] == "order_confirmed":
        event = order_confirmed(fields)
        return OutboundEvent(orders_topic, event["order_id"].encode(), orjson.dumps(event))
    if fields["type"] == "refund_due":
        event = refund_due(fields)
        return OutboundEvent(refunds_topic, event["refund_id"].encode(), orjson.dumps(event))
    raise ValueError(f"Unknown outbox entry type {fields['type']!r}")
