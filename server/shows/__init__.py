"""Shows: a host's room with its line-up of offers, its live dashboard and its report."""
