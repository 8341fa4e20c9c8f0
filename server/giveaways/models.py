"""What a giveaway is: its spec (prize, winners, window, entry rule), its record as kept in
Redis, and the views viewers and hosts see of it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from ..errors import ErrorCode, Invalid

Rule = Literal["any", "keyword", "watched", "bought"]
GiveawayState = Literal["draft", "open", "closing", "drawn"]
RULES: tuple[str, ...] = get_args(Rule)

MIN_PRIZES, MAX_PRIZES = 1, 100
MIN_WINDOW_S, MAX_WINDOW_S = 10, 600
MAX_WATCH_S = 4 * 3600
KEYWORD = re.compile(r"^[^\x00-\x1f]{1,40}\Z")
SKU = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
TITLE = re.compile(r"^[^\x00-\x1f]{1,200}\Z")


@dataclass(frozen=True, slots=True)
class GiveawaySpec:
    """What a host asks for: the prize, how many win, how long entries run, who may enter."""

    title: str
    sku: str
    prizes: int = 1
    window_s: int = 60
    rule: Rule = "any"
    #: The word to post in chat (rule ``keyword``), matched case-insensitively anywhere.
    keyword: str = ""
    #: Seconds watched in the room before entering (rule ``watched``).
    min_watch_s: int = 0

    def checked(self) -> GiveawaySpec:
        """The spec, or ``Invalid`` naming the first field that breaks a rule (for specs
        that did not come through a request body, e.g. a goal's reward)."""
        _check(
            bool(TITLE.match(self.title)) and bool(self.title.strip()), "title", "1-200 characters"
        )
        _check(bool(SKU.match(self.sku)), "sku", "1-64 letters, digits or _ . : -")
        _range(self.prizes, "prizes", MIN_PRIZES, MAX_PRIZES)
        _range(self.window_s, "window_s", MIN_WINDOW_S, MAX_WINDOW_S)
        if self.rule not in RULES:
            raise Invalid(
                ErrorCode.INVALID_FIELD,
                f"Field 'rule' must be one of: {', '.join(RULES)}.",
                field="rule",
            )
        if self.rule == "keyword":
            _check(
                bool(KEYWORD.match(self.keyword)) and bool(self.keyword.strip()),
                "keyword",
                "1-40 characters (the rule is keyword)",
            )
        if self.rule == "watched":
            _range(self.min_watch_s, "min_watch_s", 1, MAX_WATCH_S)
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GiveawaySpec:
        """A spec from a JSON object (a goal's reward), checked."""
        fields = {name: data[name] for name in SPEC_FIELDS if name in data}
        for name in ("title", "sku"):
            if not isinstance(fields.get(name), str):
                raise Invalid(ErrorCode.MISSING_FIELD, f"Field {name!r} is required.", field=name)
        for name in ("prizes", "window_s", "min_watch_s"):
            if name in fields and (
                not isinstance(fields[name], int) or isinstance(fields[name], bool)
            ):
                raise Invalid(
                    ErrorCode.INVALID_FIELD, f"Field {name!r} must be a whole number.", field=name
                )
        return cls(**fields).checked()


#: The fields of a spec, as a goal's reward names them.
SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(GiveawaySpec))


def _check(ok: bool, field: str, hint: str) -> None:
    if not ok:
        raise Invalid(ErrorCode.INVALID_FIELD, f"Field {field!r} must be {hint}.", field=field)


def _range(value: int, field: str, low: int, high: int) -> None:
    if not low <= value <= high:
        raise Invalid(
            ErrorCode.OUT_OF_RANGE, f"Field {field!r} must be {low} to {high}.", field=field
        )


@dataclass(frozen=True, slots=True)
class Giveaway:
    """A giveaway as kept in Redis (``seed`` stays secret until the draw)."""

    id: str
    room_id: str
    host_id: str
    spec: GiveawaySpec
    state: GiveawayState
    created_at: int
    started_at: int
    ends_at: int
    commitment: str
    seed: str
    entries_hash: str
    entries_count: int
    #: The latest round drawn (0 = the draw, 1.. = redraws); -1 before the draw.
    round: int
    drawn_at: int
    #: When the latest round was drawn (the draw, or the last redraw).
    round_drawn_at: int
    #: When the latest round's winners may no longer claim.
    claim_until: int
    #: The latest round whose events went to the room (-1: none yet).
    announced: int
    #: The goal reward that started it, if any.
    reward_id: str

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> Giveaway:
        """The giveaway from its Redis hash."""
        round_ = int(raw.get("round", -1))
        spec = GiveawaySpec(
            title=raw["title"],
            sku=raw["sku"],
            prizes=int(raw["prizes"]),
            window_s=int(raw["window_s"]),
            rule=cast(Rule, raw["rule"]),
            keyword=raw.get("keyword", ""),
            min_watch_s=int(raw.get("min_watch_s", 0)),
        )
        return cls(
            id=raw["id"],
            room_id=raw["room_id"],
            host_id=raw.get("host_id", ""),
            spec=spec,
            state=cast(GiveawayState, raw["state"]),
            created_at=int(raw.get("created_at", 0)),
            started_at=int(raw.get("started_at", 0)),
            ends_at=int(raw.get("ends_at", 0)),
            commitment=raw.get("commitment", ""),
            seed=raw.get("seed", ""),
            entries_hash=raw.get("entries_hash", ""),
            entries_count=int(raw.get("entries_count", 0)),
            round=round_,
            drawn_at=int(raw.get("drawn_at:0", 0)),
            round_drawn_at=int(raw.get(f"drawn_at:{round_}", 0)),
            claim_until=int(raw.get(f"claim_until:{round_}", 0)),
            announced=int(raw.get("announced", -1)),
            reward_id=raw.get("reward_id", ""),
        )

    def view(self, entries: int, winners: list[dict[str, Any]]) -> dict[str, Any]:
        """What anyone may see: the seed and the entry list's hash only once drawn."""
        drawn = self.state == "drawn"
        return {
            "giveaway_id": self.id,
            "room_id": self.room_id,
            "title": self.spec.title,
            "sku": self.spec.sku,
            "prizes": self.spec.prizes,
            "window_s": self.spec.window_s,
            "rule": self.spec.rule,
            "keyword": self.spec.keyword or None,
            "min_watch_s": self.spec.min_watch_s,
            "state": self.state,
            "created_at_ms": self.created_at,
            "started_at_ms": self.started_at or None,
            "ends_at_ms": self.ends_at or None,
            "commitment": self.commitment or None,
            "entries": self.entries_count if drawn else entries,
            "seed": self.seed if drawn else None,
            "entries_hash": self.entries_hash if drawn else None,
            "round": self.round,
            "claim_until_ms": self.claim_until or None,
            "winners": winners,
            "verify_url": f"/api/giveaways/{self.id}/draw",
        }
