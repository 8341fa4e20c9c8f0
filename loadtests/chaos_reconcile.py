"""The chaos run's reconciliation: the books, the holds, the outbox, Kafka read committed,
and what the buyers were told, each check a line that is OK or FAIL.

Run once the load has stopped, every hold has been paid, cancelled or has expired, and the
outboxes are empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from stockkeeper import keys
from stockkeeper.audit import Record, read_records
from stockkeeper.keys import OfferKeys, bucket_ids, parent_of
from stockkeeper.reconcile import Reconciliation, reconcile_offers
from stockkeeper.settings import StockSettings

from .chaos_buyers import Ledger

#: How long reading a topic may take, and the quiet wait for duplicates after the last.
READ_TIMEOUT_S = 120.0
COUNTERS = ("total", "available", "held", "sold", "sent_pending")
SETTLE_S = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the reconciliation."""

    ok: bool
    line: str


@dataclass
class RedisHolds:
    """Every hold of one offer in Redis."""

    holds: dict[str, dict[str, str]] = field(default_factory=dict)

    def units(self, status: str) -> int:
        """Units of the holds with this status."""
        return sum(int(h["quantity"]) for h in self.holds.values() if h["status"] == status)

    def count(self, status: str) -> int:
        """Holds with this status."""
        return sum(1 for h in self.holds.values() if h["status"] == status)

    def refunds(self) -> set[str]:
        """Refund ids (``hold_id:payment_ref``) written for these holds."""
        return {
            f"{hold_id}:{name.removeprefix('refund:')}"
            for hold_id, hold in self.holds.items()
            for name in hold
            if name.startswith("refund:")
        }


async def holds_of(redis: Redis, offer_id: str, buckets: int = 1) -> RedisHolds:
    """Every hold of an offer (in every bucket), read by scanning its hold keys."""
    found = RedisHolds()
    for bucket in bucket_ids(offer_id, buckets):
        k = OfferKeys(bucket)
        names = [name async for name in redis.scan_iter(match=k.hold("*"), count=1000)]
        for start in range(0, len(names), 500):
            pipe = redis.pipeline(transaction=False)
            for name in names[start : start + 500]:
                pipe.hgetall(name)
            for name, hold in zip(names[start : start + 500], await pipe.execute(), strict=True):
                found.holds[name.removeprefix(k.hold_prefix)] = hold
    return found


def _check(checks: list[Check], ok: bool, line: str) -> None:
    checks.append(Check(ok, line))


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer of the run: what it is called in the report, its stock and its buckets."""

    label: str
    stock: int
    buckets: int = 1


async def _counters(redis: Redis, offer_id: str, buckets: int) -> tuple[Counter[str], list[str]]:
    """The offer's counters summed over its buckets, and the buckets whose own books do not
    add up (available + held + sold = total, available >= 0)."""
    sums: Counter[str] = Counter()
    broken: list[str] = []
    for bucket in bucket_ids(offer_id, buckets):
        k = OfferKeys(bucket)
        raw = await redis.hgetall(k.offer)
        o = {name: int(raw.get(name, 0)) for name in COUNTERS}
        if o["available"] + o["held"] + o["sold"] != o["total"] or o["available"] < 0:
            broken.append(bucket)
        sums.update(o)
        sums["per_user"] += sum(int(n) for n in (await redis.hgetall(k.users)).values())
        sums["moves"] += await redis.scard(k.received)
        sums["outbox"] += await redis.xlen(k.outbox)
        sums["pending"] += (await redis.xpending(k.outbox, keys.RELAY_GROUP))["pending"]
    return sums, broken


async def check_books(redis: Redis, offer_id: str, offer: Offer, holds: RedisHolds) -> list[Check]:
    """The offer's counters (every bucket) against its stock and its holds, and its outboxes
    drained."""
    c, _ = await _counters(redis, offer_id, offer.buckets)
    checks: list[Check] = []
    name = f"{offer.label} offer {offer_id}" + (
        f" ({offer.buckets} buckets)" if offer.buckets > 1 else ""
    )
    _check(
        checks,
        c["total"] + c["sent_pending"] == offer.stock,
        f"{name}: total {c['total']} + in transit between buckets {c['sent_pending']} = the "
        f"{offer.stock} units it was created with",
    )
    _check(
        checks,
        c["sent_pending"] == 0,
        f"{name}: no units in transit between buckets ({c['moves']} moves between buckets)",
    )
    _check(
        checks,
        c["held"] == holds.units("held") == 0,
        f"{name}: nothing held at the end (counter {c['held']}, holds {holds.units('held')} units)",
    )
    _check(
        checks,
        c["outbox"] == 0 and c["pending"] == 0,
        f"{name}: outbox drained ({c['outbox']} entries, {c['pending']} pending)",
    )
    return checks


def reconcile_lines(found: Reconciliation) -> list[Check]:
    """``livesale reconcile``'s verdict per offer (the books in every bucket, held and sold
    against the holds, units per buyer, and the orders in Kafka against the confirmed holds)
    as lines; at the end of a run nothing may be pending either."""
    checks: list[Check] = []
    for books in found.offers:
        wrong = [d for d in found.differences + found.pending if d.offer_id == books.offer_id]
        _check(
            checks,
            not wrong,
            f"reconcile offer {books.offer_id}: books, holds and Kafka add up "
            f"({books.holds.get('confirmed', 0)} confirmed, {books.orders_in_kafka} in Kafka)"
            + "".join(f"; {d.check}: {d.message} {list(d.ids[:5])}" for d in wrong),
        )
    return checks


def check_kafka(
    orders: list[Record], refunds: list[Record], holds: dict[str, RedisHolds], label: str
) -> list[Check]:
    """Every confirmed order once in Kafka and nothing else; units sold = units in Kafka;
    every refund owed once."""
    confirmed = {
        h["order_id"]: (hold_id, int(h["quantity"]))
        for offer in holds.values()
        for hold_id, h in offer.holds.items()
        if h["status"] == "confirmed"
    }
    counts = Counter(r.value["order_id"] for r in orders)
    doubled = sorted(o for o, n in counts.items() if n > 1)
    missing = sorted(set(confirmed) - set(counts))
    unknown = sorted(set(counts) - set(confirmed))
    checks: list[Check] = []
    _check(
        checks,
        not doubled,
        f"{label}: no order twice in Kafka ({len(doubled)} doubled) {doubled[:5]}",
    )
    _check(
        checks,
        not missing,
        f"{label}: every confirmed order in Kafka ({len(confirmed)} in Redis, "
        f"{len(missing)} missing) {missing[:5]}",
    )
    _check(
        checks,
        not unknown,
        f"{label}: no order in Kafka that Redis does not hold as confirmed ({len(unknown)}) "
        f"{unknown[:5]}",
    )
    mismatched = [
        r.value["order_id"]
        for r in orders
        if r.value["order_id"] in confirmed
        and confirmed[r.value["order_id"]] != (r.value["hold_id"], r.value["quantity"])
    ]
    _check(
        checks,
        not mismatched,
        f"{label}: each order's hold and quantity as in Redis ({len(mismatched)} not) "
        f"{mismatched[:5]}",
    )
    for offer_id, offer in holds.items():
        in_kafka = sum(
            r.value["quantity"] for r in orders if parent_of(r.value["offer_id"]) == offer_id
        )
        sold = offer.units("confirmed")
        _check(
            checks,
            in_kafka == sold,
            f"{label}: offer {offer_id}: units sold {sold} = units in Kafka {in_kafka}",
        )
    owed = set().union(*(offer.refunds() for offer in holds.values()))
    refund_counts = Counter(r.value["refund_id"] for r in refunds)
    _check(
        checks,
        set(refund_counts) == owed and set(refund_counts.values()) <= {1},
        f"{label}: every refund owed ({len(owed)}) once in Kafka ({len(refunds)} messages)",
    )
    return checks


def check_buyers(
    ledger: Ledger, holds: dict[str, RedisHolds], orders: list[Record], refunds: list[Record]
) -> list[Check]:
    """What each buyer was told against what Redis and Kafka hold."""
    in_redis = {hold_id: h for offer in holds.values() for hold_id, h in offer.holds.items()}
    in_kafka = {r.value["order_id"] for r in orders}
    checks: list[Check] = []
    told = ledger.holds.values()
    lost = [
        h.hold_id
        for h in told
        if (r := in_redis.get(h.hold_id)) is None
        or (r["user_id"], int(r["quantity"])) != (h.user_id, h.quantity)
    ]
    _check(
        checks,
        not lost,
        f"buyers: every hold a buyer was given is in Redis ({len(told)}; {len(lost)} not) "
        f"{lost[:5]}",
    )
    paid = [h for h in told if h.status == "confirmed"]
    unpaid = [
        h.hold_id
        for h in paid
        if h.order_id not in in_kafka or in_redis.get(h.hold_id, {}).get("order_id") != h.order_id
    ]
    _check(
        checks,
        not unpaid,
        f"buyers: every order a buyer was told of is in Redis and Kafka ({len(paid)}; "
        f"{len(unpaid)} not) {unpaid[:5]}",
    )
    wrong = [
        h.hold_id
        for h in told
        if h.status in ("cancelled", "expired")
        and in_redis.get(h.hold_id, {}).get("status") != h.status
    ]
    _check(
        checks,
        not wrong,
        f"buyers: every hold a buyer was told ended is ended ({len(wrong)} not) {wrong[:5]}",
    )
    owed = {r.value["refund_id"] for r in refunds}
    unrefunded = sorted(ledger.refunds - owed)
    _check(
        checks,
        not unrefunded,
        f"buyers: every payment a buyer was told is owed back is in Kafka ({len(ledger.refunds)}; "
        f"{len(unrefunded)} not) {unrefunded[:5]}",
    )
    unheard = sorted(set(in_redis) - set(ledger.holds))
    _check(
        checks,
        not unheard,
        f"buyers: every hold in Redis was given to its buyer ({len(unheard)} never told; "
        f"{len(ledger.pending)} requests never answered) {unheard[:5]}",
    )
    return checks


async def reconcile(
    redis: Redis, settings: StockSettings, offers: dict[str, Offer], ledger: Ledger
) -> tuple[list[Check], dict[str, Any]]:
    """Every check, and the figures they were made from."""
    checks: list[Check] = []
    holds: dict[str, RedisHolds] = {}
    figures: dict[str, Any] = {"offers": {}}
    for offer_id, offer in offers.items():
        holds[offer_id] = found = await holds_of(redis, offer_id, offer.buckets)
        checks += await check_books(redis, offer_id, offer, found)
        counters, _ = await _counters(redis, offer_id, offer.buckets)
        figures["offers"][offer_id] = {
            **asdict(offer),
            "counters": dict(counters),
            "holds": {s: found.count(s) for s in ("held", "confirmed", "cancelled", "expired")},
        }
    expected = sum(offer.count("confirmed") for offer in holds.values())
    orders = await read_records(
        settings.kafka_bootstrap, settings.orders_topic, expected, READ_TIMEOUT_S, SETTLE_S
    )
    owed = sum(len(offer.refunds()) for offer in holds.values())
    refunds = await read_records(
        settings.kafka_bootstrap, settings.refunds_topic, owed, READ_TIMEOUT_S, SETTLE_S
    )
    everything = await read_records(
        settings.kafka_bootstrap,
        settings.orders_topic,
        expected,
        READ_TIMEOUT_S,
        SETTLE_S,
        isolation_level="read_uncommitted",
    )
    checks += check_kafka(orders, refunds, holds, "kafka (read committed)")
    # The same reconciliation ``livesale reconcile`` runs (stockkeeper/reconcile.py).
    checks += reconcile_lines(
        await reconcile_offers(redis, list(offers), kafka=settings, timeout_s=READ_TIMEOUT_S)
    )
    checks += check_buyers(ledger, holds, orders, refunds)
    figures["kafka"] = {
        "orders_read_committed": len(orders),
        "orders_read_uncommitted": len(everything),
        "refunds": len(refunds),
        "confirmed_in_redis": expected,
    }
    return checks, figures
