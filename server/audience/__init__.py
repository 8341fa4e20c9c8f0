"""The show's audience: how long each viewer watched, and the show's numbers minute by minute."""
