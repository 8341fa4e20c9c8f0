"""The orders package's Lua scripts (one file per atomic operation)."""
