"""Giveaways (lucky draws) with verifiable draws: entries, a committed seed, one draw per
giveaway however many processes see its window close, claims that become orders."""
