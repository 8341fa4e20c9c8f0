"""Every Redis key of the giveaways. One giveaway's keys share the hash tag
``{giveaway:ID}`` (one Redis Cluster slot), so each of its scripts is one atomic step."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "ls"

#: String: the last giveaway id handed out (INCR).
NEXT_ID = f"{PREFIX}:giveaways:next-id"
#: Sorted set: giveaway id -> the end of its entry window (ms), for every giveaway started
#: and not yet drawn and announced; every process's checker reads it.
DUE = f"{PREFIX}:giveaways:due"


def room_giveaways(room_id: str) -> str:
    """Sorted set: the room's giveaway ids by creation time (ms), in the room's slot."""
    return f"{PREFIX}:{{room:{room_id}}}:giveaways"


def reward_giveaway(reward_id: str) -> str:
    """String: the giveaway a goal's reward started (so a retried reward starts none more)."""
    return f"{PREFIX}:giveaways:reward:{reward_id}"


#: How a prize order's id starts (``giveaway-<giveaway id>-<user id>``).
PRIZE_ORDER = "giveaway-"


def order_id_of(giveaway_id: str, user_id: str) -> str:
    """The prize order's id: one per winner of a giveaway, the same on every retry."""
    return f"{PRIZE_ORDER}{giveaway_id}-{user_id}"


def prize_order_parts(order_id: str) -> tuple[str, str] | None:
    """The giveaway and the winner a prize order's id names; None for any other id."""
    if not order_id.startswith(PRIZE_ORDER):
        return None
    giveaway_id, _, user_id = order_id.removeprefix(PRIZE_ORDER).partition("-")
    if not (giveaway_id.isascii() and giveaway_id.isdigit()) or not user_id:
        return None
    return giveaway_id, user_id


@dataclass(frozen=True, slots=True)
class GiveawayKeys:
    """Every Redis key of one giveaway, with its hash tag."""

    giveaway_id: str

    @property
    def _base(self) -> str:
        return f"{PREFIX}:{{giveaway:{self.giveaway_id}}}"

    @property
    def giveaway(self) -> str:
        """Hash: the prize, rule, window, state, commitment, seed (secret until the draw),
        the frozen entry list's hash, the current round and each round's times."""
        return f"{self._base}:giveaway"

    @property
    def entries(self) -> str:
        """Hash: user id -> display name, one field per entrant."""
        return f"{self._base}:entries"

    @property
    def winners(self) -> str:
        """Hash: user id -> the round (0 = the draw, 1.. = redraws) they won in."""
        return f"{self._base}:winners"

    @property
    def rounds(self) -> str:
        """Hash: round -> that round's published record (JSON: prizes, excluded, winners)."""
        return f"{self._base}:rounds"

    @property
    def claims(self) -> str:
        """Hash: user id -> the order id of their claimed prize."""
        return f"{self._base}:claims"

    def prize_order(self, user_id: str) -> str:
        """Hash of a winner's claimed prize order: user_id, status (confirmed), order_id,
        confirmed_at; what fulfilment's status events are checked against."""
        return f"{self._base}:prize:{user_id}"

    def tracking(self, order_id: str) -> str:
        """Hash of a prize order's fulfilment status (as a purchase's, in this slot)."""
        return f"{self._base}:tracking:{order_id}"

    @property
    def outbox(self) -> str:
        """Stream: draw results and prize orders on their way to Kafka (the relay reads it)."""
        return f"{self._base}:outbox"

    @property
    def count_tick(self) -> str:
        """Who publishes this second's entry count (SET NX)."""
        return f"{self._base}:count-tick"


def room_keywords(room_id: str) -> str:
    """Hash: giveaway id -> keyword, for the room's open giveaways entered by chat."""
    return f"{PREFIX}:{{room:{room_id}}}:giveaway-keywords"
