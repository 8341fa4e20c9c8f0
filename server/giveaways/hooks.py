"""What the giveaways add to other features: the show report's "giveaways" section, and a
giveaway as a goal's reward (``start_from_spec``)."""

from __future__ import annotations

from typing import Any

from ..shows.store import Show
from . import keys
from .models import SPEC_FIELDS, GiveawaySpec
from .service import Giveaways


async def report_section(giveaways: Giveaways, show: Show) -> dict[str, Any]:
    """The show's giveaways as the report keeps them: prize, rule, entries, winners and
    claims, and what verifies each draw."""
    listed = []
    for giveaway in reversed(await giveaways.of_room(show.room_id)):
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
    "min_watch_s", "reward_id"}``); once per ``reward_id``. Its id ("" when another call
    with the same reward id is creating it right now)."""
    fields = {k: v for k, v in spec.items() if k in SPEC_FIELDS}
    checked = GiveawaySpec.from_dict(fields)
    reward_id = str(spec.get("reward_id") or "")
    if reward_id:
        marker = keys.reward_giveaway(reward_id)
        if not await giveaways.redis.set(marker, "creating", nx=True):
            existing = await giveaways.redis.get(marker)
            if existing in (None, "creating"):
                return ""
            await giveaways.start(await giveaways.get(str(existing)))
            return str(existing)
    giveaway = await giveaways.create(show.room_id, show.host_id, checked, reward_id)
    if reward_id:
        await giveaways.redis.set(keys.reward_giveaway(reward_id), giveaway.id)
    await giveaways.start(giveaway)
    return giveaway.id


def check_spec(spec: dict[str, Any]) -> None:
    """Raise ``Invalid`` when a goal's giveaway reward is not a valid giveaway."""
    GiveawaySpec.from_dict({k: v for k, v in spec.items() if k in SPEC_FIELDS})
