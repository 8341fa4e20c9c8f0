"""Stock warning lines: an offer's low-stock line, told to the console and to Kafka once per
crossing (docs/operations.md)."""
