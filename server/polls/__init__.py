"""Polls: a host asks a question with 2-4 answers for a window; one vote per viewer."""
