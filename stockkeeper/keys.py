"""Every Redis key the stock keeper uses, in one place.

All keys of one offer carry the hash tag ``{offer:ID}``, so in Redis Cluster they live in
one slot and each Lua script touches a single slot. A hot offer split into buckets keeps
bucket 0 under its own id and bucket ``i`` under ``{offer:ID.i}``, each a complete offer
record of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"
#: Every offer ever created; the sweeper and the outbox relay walk it.
OFFERS = f"{PREFIX}:offers"
OFFER_SEQ = f"{PREFIX}:offer-seq"
#: Pub/sub channel: "offer_id available" whenever units come back to an offer.
STOCK_CHANNEL = f"{PREFIX}:stock"
#: Consumer group of the outbox relays on every outbox stream.
RELAY_GROUP = "relay"
#: Outbox streams the relay reads besides every offer's own: features outside the stock
#: keeper (giveaways, reminders, stock warnings...) register theirs here, before their first
#: entry, and write entries of type ``event`` (see ``events.py``) or ``order_confirmed``.
OUTBOXES = f"{PREFIX}:outboxes"


def relay_lease(name: str) -> str:
    """The lease of a relay name: the token of the one relay relaying under it now."""
    return f"{PREFIX}:relay:{name}:lease"


def bucket_id(offer_id: str, index: int) -> str:
    """Bucket ``index`` of a hot offer. Bucket 0 is the offer itself; the others are kept
    under their own hash tag, so a cluster spreads them over its slots."""
    return offer_id if index == 0 else f"{offer_id}.{index}"


def bucket_ids(offer_id: str, count: int) -> list[str]:
    """Every bucket of an offer with ``count`` buckets, bucket 0 (the offer) first."""
    return [bucket_id(offer_id, i) for i in range(count)]


def parent_of(bucket: str) -> str:
    """The offer a bucket id belongs to (an offer id is its own bucket 0)."""
    return bucket.partition(".")[0]


def room_offers(room_id: str) -> str:
    """The set of a room's offer ids."""
    return f"{PREFIX}:{{room:{room_id}}}:offers"


@dataclass(frozen=True, slots=True)
class OfferKeys:
    """Every Redis key of one offer (or bucket), with its hash tag."""

    offer_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{offer:{self.offer_id}}}"

    @property
    def prefix(self) -> str:
        """Start of every key of this offer; the reserve script builds keys from it."""
        return f"{self._base}:"

    @property
    def offer(self) -> str:
        """The offer's hash: its fields, state and stock counters."""
        return f"{self._base}:offer"

    @property
    def users(self) -> str:
        """Units held or bought per user (the per-user limit)."""
        return f"{self._base}:users"

    @property
    def deadlines(self) -> str:
        """Sorted set of held holds by payment deadline (the sweeper's index)."""
        return f"{self._base}:deadlines"

    @property
    def outbox(self) -> str:
        """Stream of orders and refunds the relay sends to Kafka."""
        return f"{self._base}:outbox"

    @property
    def records(self) -> str:
        """Stream of new holds not yet in their buyers' "my orders" (recorder.py): written
        by the reserve script, emptied as the recorder takes them."""
        return f"{self._base}:records"

    @property
    def buyers(self) -> str:
        """Set of users with a confirmed order (conversion on the show's report)."""
        return f"{self._base}:buyers"

    @property
    def transfers(self) -> str:
        """Units this bucket gave to another and that are not settled yet."""
        return f"{self._base}:transfers"

    @property
    def received(self) -> str:
        """Transfer ids this bucket has taken, so each is taken once."""
        return f"{self._base}:received"

    @property
    def hold_prefix(self) -> str:
        """Start of every hold's key of this offer."""
        return f"{self.prefix}hold:"

    def hold(self, hold_id: str) -> str:
        """A hold's hash."""
        return self.hold_prefix + hold_id

    def idempotency(self, user_id: str, key: str) -> str:
        """Where the hold id made by a buyer's request with this idempotency key is kept."""
        # hold_reserve.lua builds the same key: prefix .. 'idem:' .. user .. ':' .. key
        return f"{self.prefix}idem:{user_id}:{key}"


#: Offers that have ever been made group offers: the group sweeper walks them.
GROUP_OFFERS = f"{PREFIX}:group-offers"


@dataclass(frozen=True, slots=True)
class GroupKeys:
    """The keys of an offer's buying groups (groups.py): under the offer's hash tag, so a
    seat and its hold change in one script. group_*.lua and lib.lua's ``group_leave``
    build the same names from the offer's prefix (``ls:{offer:ID}:``)."""

    offer_id: str

    @property
    def _base(self) -> str:
        return OfferKeys(self.offer_id).prefix

    @property
    def forming(self) -> str:
        """Sorted set of forming groups by window end (the failure sweeper's index)."""
        return f"{self._base}groups:forming"

    @property
    def all(self) -> str:
        """Sorted set of every group of the offer by start time."""
        return f"{self._base}groups:all"

    @property
    def viewers(self) -> str:
        """Hash user -> the forming or formed group they are in (one per offer)."""
        return f"{self._base}groups:viewers"

    @property
    def changed(self) -> str:
        """Set of groups a member left by a lapsed hold (the sweeper announces them)."""
        return f"{self._base}groups:changed"

    def group(self, group_id: str) -> str:
        """A group's hash: terms, state and counts."""
        return f"{self._base}group:{group_id}"

    def members(self, group_id: str) -> str:
        """Sorted set of a group's members by joining time."""
        return f"{self.group(group_id)}:members"

    def seats(self, group_id: str) -> str:
        """Hash member -> hold id, and ``name:<member>`` -> display name."""
        return f"{self.group(group_id)}:seats"

    def idempotency(self, user_id: str, key: str) -> str:
        """The hold made by a start or join request with this idempotency key."""
        return f"{self._base}group-idem:{user_id}:{key}"
