"""Reconciliation: the books in Redis, the holds, the outbox and the orders in Kafka, offer by
offer, with every difference named by the hold and order ids involved.

For every offer (every bucket of a hot one):

- the books: available + held + sold = total and available >= 0 in every bucket; units
  held = units of the holds whose status is ``held``; units sold = units of the confirmed
  holds; units per buyer = held + sold;
- every confirmed hold's order is in Kafka (read committed) once, with the hold's quantity;
- every order in Kafka of these offers belongs to a confirmed hold.

An order confirmed in Redis and not in Kafka while its entry still waits in the offer's
outbox is **pending** (not yet relayed: the relay is behind or not running), not a
difference; once the entry has left the outbox, the order is **lost**. Units on their way
between the buckets of a hot offer are pending too.

Kafka is read by partition assignment, up to the end of every partition, without a consumer
group: nothing is committed, no group's offsets (fulfilment's) ever move.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from aiokafka.errors import KafkaError
from redis.asyncio import Redis

from . import keys
from .keys import OfferKeys, bucket_ids, parent_of
from .reconcile_kafka import read_to_end
from .settings import StockSettings

COUNTERS = ("total", "available", "held", "sold", "sent_pending")
#: At most this many ids are printed per difference (all are kept in ``ids``).
SHOWN_IDS = 10


@dataclass(frozen=True, slots=True)
class Difference:
    """Something that does not add up (or, in ``pending``, has not happened yet)."""

    offer_id: str
    check: str
    message: str
    ids: tuple[str, ...] = ()

    def line(self) -> str:
        """The difference as one printed line."""
        shown = ", ".join(self.ids[:SHOWN_IDS])
        more = f" (+{len(self.ids) - SHOWN_IDS} more)" if len(self.ids) > SHOWN_IDS else ""
        return f"offer {self.offer_id}: {self.check}: {self.message}" + (
            f" [{shown}{more}]" if self.ids else ""
        )


@dataclass(slots=True)
class OfferBooks:
    """One offer's figures, as found."""

    offer_id: str
    room_id: str
    buckets: int
    counters: dict[str, int]
    holds: dict[str, int]
    held_units: int = 0
    confirmed_units: int = 0
    per_buyer_units: int = 0
    outbox_entries: int = 0
    orders_in_kafka: int = 0
    units_in_kafka: int = 0
    #: Buckets whose own books do not add up, with their counters.
    unbalanced: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    #: Buyers with units in two buckets, or with a count of 0 or less kept.
    bad_buyers: list[str] = field(default_factory=list)
    #: Buckets with more payment deadlines indexed than held holds.
    stray_deadlines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Reconciliation:
    """Everything found: each offer's books, the differences, and what is only pending."""

    offers: list[OfferBooks] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    pending: list[Difference] = field(default_factory=list)
    kafka_read: bool = True

    @property
    def ok(self) -> bool:
        """Whether everything adds up (pending items do not count against it)."""
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        """The reconciliation as JSON for the console."""
        return {
            "ok": self.ok,
            "kafka_read": self.kafka_read,
            "offers": [
                {
                    "offer_id": b.offer_id,
                    "room_id": b.room_id,
                    "buckets": b.buckets,
                    **{name: b.counters.get(name, 0) for name in COUNTERS},
                    "holds": b.holds,
                    "orders_confirmed": b.holds.get("confirmed", 0),
                    "outbox_entries": b.outbox_entries,
                    "orders_in_kafka": b.orders_in_kafka,
                }
                for b in self.offers
            ],
            "differences": [_difference(d) for d in self.differences],
            "pending": [_difference(d) for d in self.pending],
        }

    def report(self) -> str:
        """The printed report: a line per offer, then every difference and pending item."""
        lines = []
        for b in self.offers:
            c = b.counters
            lines.append(
                f"offer {b.offer_id} (room {b.room_id}, {b.buckets} bucket(s)): total "
                f"{c['total']}, available {c['available']}, held {c['held']}, sold {c['sold']}; "
                f"holds {dict(sorted(b.holds.items()))}; outbox {b.outbox_entries}; "
                + (f"orders in Kafka {b.orders_in_kafka}" if self.kafka_read else "Kafka not read")
            )
        lines += [f"DIFFERENCE {d.line()}" for d in self.differences]
        lines += [f"PENDING {d.line()}" for d in self.pending]
        verdict = "OK: everything adds up" if self.ok else f"{len(self.differences)} difference(s)"
        lines.append(f"{verdict} ({len(self.offers)} offers, {len(self.pending)} pending)")
        return "\n".join(lines)


def _difference(d: Difference) -> dict[str, Any]:
    return {"offer_id": d.offer_id, "check": d.check, "message": d.message, "ids": list(d.ids)}


async def offers_to_check(redis: Redis, room_id: str | None) -> list[str]:
    """The offers of a room (a show), or every offer; buckets are checked with their offer."""
    if room_id is not None:
        found = cast(set[str], await redis.smembers(keys.room_offers(room_id)))
    else:
        found = cast(set[str], await redis.smembers(keys.OFFERS))
    return sorted({parent_of(offer_id) for offer_id in found}, key=_offer_order)


def _offer_order(offer_id: str) -> tuple[int, str]:
    return (int(offer_id), "") if offer_id.isdigit() else (0, offer_id)


async def reconcile(
    redis: Redis,
    settings: StockSettings,
    room_id: str | None = None,
    *,
    read_kafka: bool = True,
    timeout_s: float = 30.0,
) -> Reconciliation:
    """Reconcile every offer of ``room_id`` (every offer when None)."""
    offer_ids = await offers_to_check(redis, room_id)
    kafka = settings if read_kafka else None
    return await reconcile_offers(redis, offer_ids, kafka=kafka, timeout_s=timeout_s)


async def reconcile_offers(
    redis: Redis,
    offer_ids: list[str],
    *,
    kafka: StockSettings | None = None,
    timeout_s: float = 30.0,
) -> Reconciliation:
    """Reconcile these offers; against the orders topic of ``kafka`` unless it is None (the
    check tests and load tests run on their books mid-run)."""
    result = Reconciliation(kafka_read=kafka is not None)
    holds: dict[str, dict[str, dict[str, str]]] = {}
    outboxed: dict[str, set[str]] = {}
    for offer_id in offer_ids:
        books, holds[offer_id], outboxed[offer_id] = await _read_offer(redis, offer_id)
        result.offers.append(books)
        _check_books(result, books, holds[offer_id])
    if kafka is not None:
        try:
            orders = await read_to_end(kafka.kafka_bootstrap, kafka.orders_topic, timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            # Not knowing is not "adds up": the orders could not be checked.
            result.differences.append(
                Difference("-", "kafka_unreadable", f"the orders topic could not be read ({exc})")
            )
            return result
        _check_kafka(result, holds, outboxed, orders)
    return result


async def _read_offer(
    redis: Redis, offer_id: str
) -> tuple[OfferBooks, dict[str, dict[str, str]], set[str]]:
    """The offer's counters (summed, each bucket checked), its holds and the order ids in its
    outbox."""
    raw = cast(dict[str, str], await redis.hgetall(OfferKeys(offer_id).offer))
    count = int(raw.get("buckets") or 1)
    summed: Counter[str] = Counter()
    books = OfferBooks(offer_id, raw.get("room_id", ""), count, {}, {})
    holds: dict[str, dict[str, str]] = {}
    outboxed: set[str] = set()
    buyers: set[str] = set()
    for bucket in bucket_ids(offer_id, count):
        k = OfferKeys(bucket)
        record = raw if bucket == offer_id else await redis.hgetall(k.offer)
        numbers = {name: int(record.get(name, 0)) for name in COUNTERS}
        summed.update(numbers)
        if (
            numbers["available"] + numbers["held"] + numbers["sold"] != numbers["total"]
            or numbers["available"] < 0
        ):
            books.unbalanced.append((bucket, numbers))
        per_user = cast(dict[str, str], await redis.hgetall(k.users))
        books.per_buyer_units += sum(int(n) for n in per_user.values())
        # A buyer's units are all in one bucket (the per-buyer limit is checked there).
        books.bad_buyers += [u for u, n in per_user.items() if u in buyers or int(n) <= 0]
        buyers |= set(per_user)
        found = await _holds(redis, k)
        held_here = sum(1 for h in found.values() if h.get("status") == "held")
        if await redis.zcard(k.deadlines) > held_here:
            books.stray_deadlines.append(bucket)
        holds.update(found)
        entries = cast(list[tuple[str, dict[str, str]]], await redis.xrange(k.outbox))
        books.outbox_entries += len(entries)
        outboxed |= {
            fields["order_id"]
            for _, fields in entries
            if fields.get("type") == "order_confirmed" and "order_id" in fields
        }
    books.counters = {name: summed[name] for name in COUNTERS}
    books.holds = dict(Counter(h.get("status", "?") for h in holds.values()))
    books.held_units = _units(holds, "held")
    books.confirmed_units = _units(holds, "confirmed")
    return books, holds, outboxed


async def _holds(redis: Redis, k: OfferKeys) -> dict[str, dict[str, str]]:
    names = [name async for name in redis.scan_iter(match=k.hold("*"), count=1000)]
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(names), 500):
        pipe = redis.pipeline(transaction=False)
        part = names[start : start + 500]
        for name in part:
            pipe.hgetall(name)
        for name, hold in zip(part, await pipe.execute(), strict=True):
            found[str(name).removeprefix(k.hold_prefix)] = hold
    return found


def _units(holds: dict[str, dict[str, str]], status: str) -> int:
    return sum(int(h.get("quantity", 0)) for h in holds.values() if h.get("status") == status)


def _check_books(
    result: Reconciliation, books: OfferBooks, holds: dict[str, dict[str, str]]
) -> None:
    c, o = books.counters, books.offer_id
    for bucket, n in books.unbalanced:
        result.differences.append(
            Difference(
                o,
                "books_unbalanced",
                f"bucket {bucket}: available {n['available']} + held {n['held']} + sold "
                f"{n['sold']} = {n['available'] + n['held'] + n['sold']}, not total {n['total']}"
                + (" (available below zero)" if n["available"] < 0 else ""),
                (bucket,),
            )
        )
    if c.get("held", 0) != books.held_units:
        result.differences.append(
            Difference(
                o,
                "held_mismatch",
                f"held counter {c.get('held', 0)} != units of held holds {books.held_units}",
                tuple(sorted(h for h, v in holds.items() if v.get("status") == "held")),
            )
        )
    if c.get("sold", 0) != books.confirmed_units:
        result.differences.append(
            Difference(
                o,
                "sold_mismatch",
                f"sold counter {c.get('sold', 0)} != units of confirmed holds "
                f"{books.confirmed_units}",
                tuple(sorted(h for h, v in holds.items() if v.get("status") == "confirmed")),
            )
        )
    if books.per_buyer_units != c.get("held", 0) + c.get("sold", 0):
        result.differences.append(
            Difference(
                o,
                "per_buyer_mismatch",
                f"units per buyer {books.per_buyer_units} != held + sold "
                f"{c.get('held', 0) + c.get('sold', 0)}",
            )
        )
    if books.bad_buyers:
        result.differences.append(
            Difference(
                o,
                "buyer_units_split",
                "buyers with units in two buckets, or a count of 0 or less",
                tuple(sorted(set(books.bad_buyers))),
            )
        )
    if books.stray_deadlines:
        result.differences.append(
            Difference(
                o,
                "stray_deadlines",
                "more payment deadlines indexed than held holds",
                tuple(books.stray_deadlines),
            )
        )
    if c.get("sent_pending", 0):
        result.pending.append(
            Difference(o, "in_transit", f"{c['sent_pending']} units between buckets, not settled")
        )


def _check_kafka(
    result: Reconciliation,
    holds: dict[str, dict[str, dict[str, str]]],
    outboxed: dict[str, set[str]],
    orders: list[dict[str, Any]],
) -> None:
    by_offer: dict[str, list[dict[str, Any]]] = {offer_id: [] for offer_id in holds}
    for order in orders:
        offer_id = parent_of(str(order.get("offer_id", "")))
        if offer_id in by_offer and order.get("kind", "purchase") == "purchase":
            by_offer[offer_id].append(order)
    books = {b.offer_id: b for b in result.offers}
    for offer_id, in_kafka in by_offer.items():
        confirmed = {
            h["order_id"]: (hold_id, int(h.get("quantity", 0)))
            for hold_id, h in holds[offer_id].items()
            if h.get("status") == "confirmed" and h.get("order_id")
        }
        counts = Counter(str(order["order_id"]) for order in in_kafka)
        books[offer_id].orders_in_kafka = len(counts)
        books[offer_id].units_in_kafka = sum(int(order.get("quantity", 0)) for order in in_kafka)
        _add(
            result,
            offer_id,
            "order_twice_in_kafka",
            "orders in Kafka more than once",
            sorted(o for o, n in counts.items() if n > 1),
        )
        orphans = sorted(
            f"{order['order_id']} (hold {order.get('hold_id', '?')})"
            for order in in_kafka
            if confirmed.get(str(order["order_id"]), ("", 0))[0] != order.get("hold_id")
        )
        _add(
            result,
            offer_id,
            "kafka_order_without_confirmed_hold",
            "orders in Kafka with no confirmed hold of that id in Redis",
            orphans,
        )
        wrong = sorted(
            str(order["order_id"])
            for order in in_kafka
            if str(order["order_id"]) in confirmed
            and confirmed[str(order["order_id"])][1] != int(order.get("quantity", 0))
        )
        _add(
            result,
            offer_id,
            "kafka_quantity_mismatch",
            "orders in Kafka whose quantity differs from their hold's",
            wrong,
        )
        absent = sorted(set(confirmed) - set(counts))
        waiting = [o for o in absent if o in outboxed[offer_id]]
        lost = [f"{o} (hold {confirmed[o][0]})" for o in absent if o not in outboxed[offer_id]]
        _add(
            result,
            offer_id,
            "confirmed_order_missing_from_kafka",
            "confirmed in Redis, not in Kafka and no longer in the outbox (lost)",
            lost,
        )
        if waiting:
            result.pending.append(
                Difference(
                    offer_id,
                    "not_yet_relayed",
                    f"{len(waiting)} confirmed orders still in the outbox, not in Kafka yet",
                    tuple(waiting),
                )
            )


def _add(result: Reconciliation, offer_id: str, check: str, message: str, ids: list[str]) -> None:
    if ids:
        result.differences.append(Difference(offer_id, check, f"{len(ids)} {message}", tuple(ids)))
