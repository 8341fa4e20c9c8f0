"""What the giveaways add to other features: the show report's "giveaways" section, and a
giveaway as a goal's reward (``start_from_spec``)."""

from __future__ import annotations

from typing import Any

from ..shows.store import Show
from . import keys
from .models import SPEC_FIELDS, GiveawaySpec
from .service import Giveaways

#: The most giveaways a show's report lists (a show rarely runs more than a handful).
REPORT_LIMIT = 500


async def report_section(giveaways: Giveaways, show: Show) -> dict[str, Any]:
    """The show's giveaways as the report keeps them: prize, rule, entries, winners and
    claims, and what verifies each draw."""
    listed = []
    for giveaway in reversed(await giveaways.of_room(show.room_id, limit=REPORT_LIMIT)):
        view = await giveaways.view(giveaway)
        winners = view["winners"]
        listed.append(
            {
                **{name: view[name] for name in ("giveaway_id", "title", "sku", "prizes", "rule")},
                **{name: view[name] for name in ("state", "entries", "commitment", "seed")},
                "entries_hash": view["entries_hash"],
                "rounds": giveaway.round + 1,
                "winners": winners,
                "claimed": sum(1 for w in winners if w["claimed"]),
            }
        )
    return {
        "giveaways": listed,
        "entries": sum(g["entries"] for g in listed),
        "prizes_claimed": sum(g["claimed"] for g in listed),
    }


async def start_from_spec(giveaways: Giveaways, show: Show, spec: dict[str, Any]) -> str:
    """Create and start the giveaway ``spec`` describes in the show's room (a goal's reward:
    ``{"kind": "giveaway", "title", "sku", "prizes", "window_s", "rule", "keyword",
    "min_watch_s", "reward_id"}``); its id. Once per ``reward_id``: the id is reserved for
    the reward first, so a retry (after a crash at any step) finishes the same giveaway."""
    checked = GiveawaySpec.from_dict({k: v for k, v in spec.items() if k in SPEC_FIELDS})
    reward_id = str(spec.get("reward_id") or "")
    giveaway_id = None
    if reward_id:
        marker = keys.reward_giveaway(reward_id)
        fresh = await giveaways.new_id()
        if await giveaways.redis.set(marker, fresh, nx=True):
            giveaway_id = fresh
        else:
            giveaway_id = str(await giveaways.redis.get(marker))
    giveaway = await giveaways.create(
        show.room_id, show.host_id, checked, reward_id, giveaway_id=giveaway_id
    )
    await giveaways.start(giveaway)
    return giveaway.id


def check_spec(spec: dict[str, Any]) -> None:
    """Raise ``Invalid`` when a goal's giveaway reward is not a valid giveaway."""
    GiveawaySpec.from_dict({k: v for k, v in spec.items() if k in SPEC_FIELDS})
