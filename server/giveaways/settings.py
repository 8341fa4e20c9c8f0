"""Typed settings of the giveaways (read from the environment by server/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RESULTS_TOPIC = "giveaways.results"


@dataclass(frozen=True, slots=True)
class GiveawaySettings:
    """Claim window, the Kafka topic of draw results, and the checker's pace."""

    #: How long a winner has to give a shipping address (TikTok's 48 h).
    claim_window_s: int = 48 * 3600
    #: Kafka topic of draw results (schema server/giveaways/schemas/giveaway_result.v1.json).
    results_topic: str = DEFAULT_RESULTS_TOPIC
    #: How often each process looks for giveaways whose window has closed.
    check_interval_s: float = 0.25
    #: The entry count is published to the room at most once per this many ms.
    count_interval_ms: int = 1000
    #: Currency of the zero-amount prize orders (the prize has no price of its own).
    currency: str = "EUR"
