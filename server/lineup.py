"""A room's line-up: the stock keeper's offer operations, each also told to the room.

The stock keeper knows offers and stock, not rooms; this is where creating, launching,
pausing or closing an offer also becomes a room event. The HTTP layer's offer and show
endpoints both call it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal

from stockkeeper.errors import StockKeeperError
from stockkeeper.keeper import StockKeeper
from stockkeeper.models import Offer, OfferSpec

from .errors import Conflict, ErrorCode, Invalid
from .room.hub import RoomHub
from .room.publisher import RoomPublisher
from .shows.store import Show

#: A line-up product without its own sale window sells for this long once launched.
DEFAULT_WINDOW_S = 600


#: An offer's state as the API, room events and the console show it: ``scheduled`` is an
#: offer launched whose countdown still runs (the stock keeper stores it as ``open`` with
#: ``opens_at`` ahead, and takes no reservation before then).
ShownOfferState = Literal["draft", "scheduled", "open", "paused", "closed"]


def shown_state(offer: Offer, now_ms: int | None = None) -> ShownOfferState:
    """The offer's state as shown: ``scheduled`` during its countdown."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if offer.state == "open" and now < offer.opens_at:
        return "scheduled"
    return offer.state


def offer_view(offer: Offer) -> dict[str, Any]:
    """What anyone may see of an offer: in room events and API answers alike."""
    view = dataclasses.asdict(offer)
    view["state"] = shown_state(offer)
    view["opens_at_ms"] = view.pop("opens_at")
    view["closes_at_ms"] = view.pop("closes_at")
    view["created_at_ms"] = view.pop("created_at")
    # Sales counters are the host's business (the show dashboard), not the public's.
    del view["reservations"], view["orders"]
    return view


class Lineup:
    """The offers of every room, run by their hosts (one per process)."""

    def __init__(self, keeper: StockKeeper, publisher: RoomPublisher, hub: RoomHub) -> None:
        self.keeper = keeper
        self.publisher = publisher
        self.hub = hub

    async def _tell_room(self, type_: str, offer: Offer) -> None:
        await self.publisher.publish(offer.room_id, type_, {"offer": offer_view(offer)})

    async def add(self, spec: OfferSpec) -> Offer:
        """Create an offer and show it in its room's line-up."""
        offer = await self.keeper.create_offer(spec)
        await self._tell_room("offer_added", offer)
        return offer

    async def launch(
        self, offer_id: str, *, countdown_ms: int | None, window_ms: int | None
    ) -> Offer:
        """Open an offer after a countdown and tell its room."""
        offer = await self.keeper.open_offer(
            offer_id, countdown_ms=countdown_ms, window_ms=window_ms
        )
        # The countdown ends at opens_at on the server's clock; viewers count down to it.
        await self.publisher.publish(
            offer.room_id,
            "offer_announced",
            {"offer": offer_view(offer), "countdown_ends_at_ms": offer.opens_at},
        )
        self.hub.announce_open_at(offer.room_id, offer.id, offer.opens_at)
        return offer

    async def pause(self, offer_id: str) -> Offer:
        """Stop reservations for a while."""
        offer = await self.keeper.pause_offer(offer_id)
        await self._tell_room("offer_paused", offer)
        return offer

    async def resume(self, offer_id: str) -> Offer:
        """Take reservations again after a pause."""
        offer = await self.keeper.resume_offer(offer_id)
        await self._tell_room("offer_open", offer)
        return offer

    async def close(self, offer_id: str) -> Offer:
        """End an offer's sale for good."""
        offer = await self.keeper.close_offer(offer_id)
        await self._tell_room("offer_closed", offer)
        return offer

    async def close_all(self, room_id: str) -> None:
        """Close every offer of the room still on sale (or never launched)."""
        for offer in await self.keeper.room_offers(room_id):
            if offer.state in ("open", "paused", "draft"):
                try:
                    await self.close(offer.id)
                except StockKeeperError:
                    continue  # closed meanwhile by another request: nothing left to close

    async def in_room(self, offer_id: str, room_id: str) -> Offer:
        """The offer, which must be one of this room's."""
        offer = await self.keeper.get_offer(offer_id)
        if offer.room_id != room_id:
            raise Invalid(ErrorCode.OFFER_NOT_IN_ROOM, "That offer belongs to another room.")
        return offer

    async def pin(self, room_id: str, offer_id: str) -> str:
        """Show one of the room's offers at the top of every viewer's screen; the offset."""
        offer = await self.in_room(offer_id, room_id)
        return await self.publisher.set_state(room_id, "pinned_offer", pinned_offer_id=offer.id)

    async def launch_in_show(self, show: Show, offer_id: str) -> Offer:
        """Launch a line-up product with its countdown and window presets, and pin it."""
        if show.status != "live":
            raise Conflict(ErrorCode.SHOW_NOT_LIVE, "Go live before launching an offer.")
        offer = await self.in_room(offer_id, show.room_id)
        offer = await self.launch(
            offer.id,
            countdown_ms=offer.countdown_s * 1000,
            window_ms=(offer.window_s or DEFAULT_WINDOW_S) * 1000,
        )
        await self.publisher.set_state(show.room_id, "pinned_offer", pinned_offer_id=offer.id)
        return offer
