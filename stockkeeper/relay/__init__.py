"""Relays the outbox to Kafka exactly once, for consumers reading committed messages.

Each offer's outbox is a Redis Stream read through the consumer group ``relay``, and so is
every stream other features registered in ``keys.OUTBOXES`` (``register_outbox``). A relay
publishes a batch of entries, and a record of which entries they are, in one Kafka
transaction under a transactional id derived from its stable name; it acknowledges (and
deletes) the entries only after the commit. So:

- while Kafka is down, orders wait in the outbox and go out when it is back;
- a relay killed at any point, restarted under the same name, fences its old producer
  (aborting what was not committed), acknowledges what its last transaction committed, and
  sends the rest again;
- another relay takes over the entries of one that never comes back, under the dead one's
  transactional id, with the same guarantee.

A read-committed consumer sees each order once. An aborted transaction's messages are in the
log too, so a read-uncommitted consumer can see an order twice, with the same key (the order
id) and bytes: consumers still de-duplicate by order id.

Modules: ``outbox`` (Redis side), ``transactions`` (one name's producer), ``state`` (the
relay-state record), ``relay`` (the loop and the takeover).
"""

from .outbox import Entry, outbox_depth, outbox_streams, register_outbox
from .relay import OutboxRelay
from .transactions import ensure_topics, transactional_id

__all__ = [
    "Entry",
    "OutboxRelay",
    "ensure_topics",
    "outbox_depth",
    "outbox_streams",
    "register_outbox",
    "transactional_id",
]
