"""Live rooms: every viewer of a show sees the same events, in the same order, in real time."""
