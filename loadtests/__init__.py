"""Load tests and benchmark commands."""
