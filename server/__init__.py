"""The livesale HTTP service."""
