"""What every scenario needs: its settings from ``LOADTEST_*`` variables, and identities."""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass

from server.tokens import mint_viewer_token


@dataclass(frozen=True, slots=True)
class ScenarioSettings:
    """What a Locust scenario needs to know of the server it loads."""

    #: The server's viewer token secret: buyers and viewers sign themselves in with it.
    viewer_secret: str
    #: A host API token of the room's host.
    host_token: str
    room_id: str
    #: The flash-sale offer (the rush scenario).
    offer_id: str
    #: Tells runs apart, so user ids never repeat across runs.
    run: str
    #: Share of buyers who pay for their hold; the others let it lapse.
    pay_share: float
    #: Share of buyers who press twice with the same idempotency key (a retry).
    retry_share: float
    #: Share of buyers who try to buy over the per-person limit.
    greedy_share: float
    #: Share of room viewers who chat.
    chat_share: float
    #: From this moment (epoch ms) every buyer pays: a hold left to lapse after the run
    #: ends would put a unit back on sale with nobody left to buy it.
    pay_all_after_ms: float

    @classmethod
    def from_env(cls) -> ScenarioSettings:
        """Read the ``LOADTEST_*`` variables ``livesale-bench loadtest`` sets."""
        env = os.environ
        return cls(
            viewer_secret=env.get("LOADTEST_VIEWER_SECRET", ""),
            host_token=env.get("LOADTEST_HOST_TOKEN", ""),
            room_id=env.get("LOADTEST_ROOM", "load-room"),
            offer_id=env.get("LOADTEST_OFFER_ID", ""),
            run=env.get("LOADTEST_RUN", "run"),
            pay_share=float(env.get("LOADTEST_PAY_SHARE", "0.7")),
            retry_share=float(env.get("LOADTEST_RETRY_SHARE", "0.2")),
            greedy_share=float(env.get("LOADTEST_GREEDY_SHARE", "0.1")),
            chat_share=float(env.get("LOADTEST_CHAT_SHARE", "0.1")),
            pay_all_after_ms=float(env.get("LOADTEST_PAY_ALL_AFTER_MS", "inf")),
        )


SETTINGS = ScenarioSettings.from_env()
_numbers = itertools.count(1)


def next_user(kind: str) -> tuple[str, str]:
    """A fresh user of this process: its user id and signed viewer token."""
    number = next(_numbers)
    # Locust worker processes share the run: the pid keeps their user ids apart.
    user_id = f"{SETTINGS.run}-{kind}-{os.getpid()}-{number}"
    token = mint_viewer_token(SETTINGS.viewer_secret, user_id, f"{kind.title()} {number}")
    return user_id, token


def now_ms() -> float:
    """Now, in epoch milliseconds (the room events' clock)."""
    return time.time() * 1000
