"""Starting the real stack locally: Redis and a single-node Kafka broker, no Docker."""
