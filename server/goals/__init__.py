"""Tiered sales goals: thresholds of a show's units sold or GMV, each with a reward that
starts by itself, exactly once, when the show's totals cross it."""
