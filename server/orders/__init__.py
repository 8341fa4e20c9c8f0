"""A buyer's orders: every hold and order across shows, and shipping news from fulfilment."""
