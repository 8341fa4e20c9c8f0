"""The cases of ``livesale-bench costs`` that drive the stock keeper itself: the keeper
alone (no HTTP, no socket), and what-ifs that swap one of its correctness steps out for a
case (not ways to run the product)."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Awaitable

from stockkeeper.keeper import SOLD_OUT, StockKeeper
from stockkeeper.models import ReserveResult

from .instructions import Meter

#: The keeper-alone cases' outcomes, counted as the HTTP answers they would be.
_OUTCOME_STATUS = {"reserved": 201, "sold_out": 409}


async def keeper_per_press(
    keeper: StockKeeper | None,
    offer_id: str,
    tokens: list[str],
    connections: int,
    requests: int,
    meter: Meter,
) -> tuple[float, Counter[int]]:
    """What ``meter`` measures (CPU microseconds, or instructions) per press of the stock
    keeper alone (no HTTP, no socket): ``connections`` presses at a time, each in a task of
    its own (the keeper merges presses that run side by side); and the presses' outcomes,
    as the statuses HTTP would answer them with. Without a keeper, what the tasks alone
    cost (answered 200)."""
    run = secrets.token_hex(4)
    statuses: Counter[int] = Counter()

    async def press(connection: int, n: int) -> None:
        if keeper is None:
            statuses[200] += 1
            return
        user = f"cost-{(connection * 7919 + n) % len(tokens)}"
        result = await keeper.reserve(offer_id, user, 1, f"keeper-{run}-{connection}-{n:09d}")
        statuses[_OUTCOME_STATUS.get(result.outcome, 500)] += 1

    rounds = max(1, requests // connections)
    for n in range(rounds + 20):
        if n == 20:  # as the HTTP cases: the first rounds warm up
            meter.start()
        await asyncio.gather(*(press(c, n) for c in range(connections)))
    return meter.stop() / (rounds * connections), statuses


async def sold_out_from_memory(
    offer_id: str, count: int, user_id: str, idempotency_key: str
) -> ReserveResult:
    """The what-if stand-in for the replay lookup: "sold out" from this process's memory
    (a retry of a press that reserved on another process would be told so, wrongly)."""
    return SOLD_OUT


async def what_if(
    keeper: StockKeeper, name: str, stand_in: object, case: Awaitable[tuple[float, Counter[int]]]
) -> tuple[float, Counter[int]]:
    """Run ``case`` with the keeper's ``name`` replaced by ``stand_in``, then put it back."""
    own = vars(keeper)
    had, before = name in own, own.get(name)
    setattr(keeper, name, stand_in)
    try:
        return await case
    finally:
        if had:
            setattr(keeper, name, before)
        else:
            delattr(keeper, name)  # the class's method shows through again
