"""Typed settings of the stock keeper, read from the environment by the entry points."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_REDIS_URL = "redis://127.0.0.1:16379/0"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:19092"


@dataclass(frozen=True, slots=True)
class StockSettings:
    """Typed settings of the stock keeper and the relay, read by from_env only."""

    redis_url: str = DEFAULT_REDIS_URL
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    orders_topic: str = "orders.confirmed"
    refunds_topic: str = "orders.refund_due"
    #: Partitions of the two topics when the relay has to create them.
    topic_partitions: int = 6
    #: 1 on a single local broker; 3 in production.
    topic_replication: int = 1
    #: How long a request's idempotency key keeps pointing at the hold it made.
    idempotency_ttl_s: int = 24 * 3600
    sweep_interval_s: float = 0.25
    sweep_batch: int = 500
    relay_batch: int = 500
    #: The relay looks at the outbox again this soon after finding it empty, and waits twice
    #: as long after each empty look, up to ``relay_idle_poll_max_s``: a quiet server does
    #: not poll every offer's outbox 50 times a second (5% of a core at rest), and an order
    #: after a quiet spell reaches Kafka at most that much later.
    relay_idle_poll_s: float = 0.02
    relay_idle_poll_max_s: float = 0.32
    #: A relay that has not acknowledged an entry for this long is presumed dead and its
    #: entries are taken over by another relay.
    relay_claim_idle_ms: int = 30_000
    #: How long a relay keeps its name's lease without renewing it (relay/lease.py): a
    #: relay standing by under the same name takes over this long after one that hangs.
    relay_lease_ms: int = 10_000
    #: The compacted topic where each relay's transactions record which outbox entries they
    #: carried (one partition, keyed by relay name).
    relay_state_topic: str = "livesale.relay.state"
    #: Longest wait for one Kafka step of the relay (joining as its transactional id, a
    #: batch's acknowledgements, a commit) before it aborts and starts over.
    relay_kafka_timeout_s: float = 30.0
    #: Kafka aborts a relay's transaction left open this long (a relay killed mid-batch);
    #: read-committed consumers of its partitions wait at most this long for it.
    relay_transaction_timeout_ms: int = 60_000
    #: The sold-out flag is cleared by a stock event; this is the backstop if one is missed.
    sold_out_flag_max_age_s: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StockSettings:
        """Read ``LIVESALE_*`` variables; anything unset keeps its default."""
        env = os.environ if env is None else env
        d = cls()
        return cls(
            redis_url=env.get("LIVESALE_REDIS_URL", DEFAULT_REDIS_URL),
            kafka_bootstrap=env.get("LIVESALE_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP),
            orders_topic=env.get("LIVESALE_ORDERS_TOPIC", d.orders_topic),
            refunds_topic=env.get("LIVESALE_REFUNDS_TOPIC", d.refunds_topic),
            topic_partitions=int(env.get("LIVESALE_TOPIC_PARTITIONS", d.topic_partitions)),
            topic_replication=int(env.get("LIVESALE_TOPIC_REPLICATION", d.topic_replication)),
            idempotency_ttl_s=int(env.get("LIVESALE_IDEMPOTENCY_TTL_S", d.idempotency_ttl_s)),
            relay_batch=int(env.get("LIVESALE_RELAY_BATCH", d.relay_batch)),
            relay_claim_idle_ms=int(env.get("LIVESALE_RELAY_CLAIM_IDLE_MS", d.relay_claim_idle_ms)),
            relay_lease_ms=int(env.get("LIVESALE_RELAY_LEASE_MS", d.relay_lease_ms)),
            relay_state_topic=env.get("LIVESALE_RELAY_STATE_TOPIC", d.relay_state_topic),
            relay_kafka_timeout_s=float(
                env.get("LIVESALE_RELAY_KAFKA_TIMEOUT_S", d.relay_kafka_timeout_s)
            ),
            relay_transaction_timeout_ms=int(
                env.get("LIVESALE_RELAY_TRANSACTION_TIMEOUT_MS", d.relay_transaction_timeout_ms)
            ),
        )
