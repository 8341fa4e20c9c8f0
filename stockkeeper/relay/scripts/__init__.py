"""Lua scripts of the outbox relay (its name's lease)."""
