"""The chaos run's load: buyers pressing buy, paying, cancelling and walking away, who keep
a ledger of every answer they were given.

A press carries a fresh idempotency key and a payment its own reference; both are sent again
unchanged on a 503 or a broken connection, as docs/api.md tells clients to, until an answer
says what happened. What the buyers were told is checked against Redis and Kafka at the end.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from server.tokens import mint_viewer_token

#: A request not answered within this long is treated like a broken connection.
REQUEST_TIMEOUT_S = 10.0
#: Shares of a buyer's holds that are paid, cancelled and paid after their deadline; the
#: rest are left to expire.
PAY_SHARE = 0.72
CANCEL_SHARE = 0.10
LATE_SHARE = 0.03
#: Share of paid holds paid a second time with another payment reference (owed back).
PAY_TWICE_SHARE = 0.03
#: Shares of presses on the flash-sale offer and on the hot one (in buckets); the rest go
#: to the offer with plenty of stock.
FLASH_SHARE = 0.45
HOT_SHARE = 0.25


@dataclass
class Hold:
    """A hold as its buyer was told of it."""

    hold_id: str
    offer_id: str
    user_id: str
    quantity: int
    #: What the buyer was last told: held, confirmed, cancelled, expired, refund_due.
    status: str = "held"
    order_id: str | None = None


@dataclass
class Pending:
    """A request whose outcome nobody told its buyer (given up when the run ended)."""

    kind: str
    user_id: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    hold: Hold | None = None


@dataclass
class Ledger:
    """Everything the buyers were told, and what they never learned."""

    started: float = field(default_factory=time.monotonic)
    #: "reserve 201", "confirm 409 hold_expired", "cancel 503 stock_unavailable",
    #: "reserve connection error"...: one count per attempt.
    answers: Counter[str] = field(default_factory=Counter)
    holds: dict[str, Hold] = field(default_factory=dict)
    #: Refunds a payment was answered with (``hold_id:payment_ref``, the refund id).
    refunds: set[str] = field(default_factory=set)
    pending: list[Pending] = field(default_factory=list)
    #: Per second of the run: confirmed orders, and attempts that failed (503 or broken).
    orders_per_second: Counter[int] = field(default_factory=Counter)
    failures_per_second: Counter[int] = field(default_factory=Counter)
    first_sold_out_s: float | None = None

    def second(self) -> int:
        """Seconds since the load started."""
        return int(time.monotonic() - self.started)


@dataclass(frozen=True, slots=True)
class Sale:
    """Where the buyers buy."""

    base: str
    viewer_secret: str
    #: Offer ids by label: flash, hot, plenty.
    offers: dict[str, str]
    hold_seconds: int


class Buyers:
    """``count`` buyers, each with a session of their own, until ``stop`` is set."""

    def __init__(self, sale: Sale, count: int, ledger: Ledger) -> None:
        self.sale = sale
        self.count = count
        self.ledger = ledger
        self.stop = asyncio.Event()
        #: Past this moment a request is no longer sent again: it is left pending.
        self.give_up_at = float("inf")

    async def run(self) -> None:
        """Every buyer's loop, until ``stop``; returns once each finished its last press."""
        await asyncio.gather(*(self._buyer(n) for n in range(self.count)))

    async def _buyer(self, n: int) -> None:
        user = f"buyer-{n:04d}"
        headers = {
            "Authorization": f"Bearer {mint_viewer_token(self.sale.viewer_secret, user, user)}"
        }
        rng = random.Random(n)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            press = 0
            while not self.stop.is_set():
                press += 1
                pick = rng.random()
                label = "flash" if pick < FLASH_SHARE else "plenty"
                label = "hot" if FLASH_SHARE <= pick < FLASH_SHARE + HOT_SHARE else label
                offer = self.sale.offers[label]
                body = {
                    "quantity": rng.choice((1, 1, 1, 2)),
                    "idempotency_key": f"p-{user}-{press}",
                }
                url = f"{self.sale.base}/api/offers/{offer}/reservations"
                answer = await self.send(session, Pending("reserve", user, url, headers, body))
                if answer is not None:
                    await self._after_press(session, headers, user, answer, rng)
                await asyncio.sleep(rng.uniform(0.05, 0.25))

    async def _after_press(
        self,
        session: aiohttp.ClientSession,
        headers: dict[str, str],
        user: str,
        answer: tuple[int, dict[str, Any]],
        rng: random.Random,
    ) -> None:
        status, body = answer
        if status not in (200, 201):
            if body.get("error", {}).get("code") == "sold_out" and not self.ledger.first_sold_out_s:
                self.ledger.first_sold_out_s = time.monotonic() - self.ledger.started
            return
        hold = self.remember(user, body["hold"])
        fate = rng.random()
        if fate < PAY_SHARE:
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await self._pay(session, headers, hold, "psp")
            if rng.random() < PAY_TWICE_SHARE:
                await self._pay(session, headers, hold, "psp-again")
        elif fate < PAY_SHARE + CANCEL_SHARE:
            url = f"{self.sale.base}/api/holds/{hold.hold_id}/cancel"
            await self.send(session, Pending("cancel", user, url, headers, {}, hold))
        elif fate < PAY_SHARE + CANCEL_SHARE + LATE_SHARE:
            # Confirmed late while units are left (the plenty offer), else owed back.
            await asyncio.sleep(self.sale.hold_seconds + rng.uniform(0.5, 1.0))
            await self._pay(session, headers, hold, "psp-late")

    async def _pay(
        self, session: aiohttp.ClientSession, headers: dict[str, str], hold: Hold, ref: str
    ) -> None:
        url = f"{self.sale.base}/api/holds/{hold.hold_id}/confirm"
        payment = {"payment_ref": f"{ref}-{hold.hold_id}"}
        await self.send(session, Pending("confirm", hold.user_id, url, headers, payment, hold))

    def remember(self, user: str, hold: dict[str, Any]) -> Hold:
        """The hold a press was answered with (the same one again for a replay)."""
        known = self.ledger.holds.get(hold["hold_id"])
        if known is None:
            known = Hold(hold["hold_id"], hold["offer_id"], user, int(hold["quantity"]))
            self.ledger.holds[known.hold_id] = known
        return known

    async def send(
        self, session: aiohttp.ClientSession, request: Pending
    ) -> tuple[int, dict[str, Any]] | None:
        """Send a request, and again unchanged after a 503 or a broken connection, until it
        is answered; None (and the request left pending) once the run gives up on it."""
        backoff = 0.1
        while True:
            try:
                async with session.post(
                    request.url, json=request.body, headers=request.headers
                ) as resp:
                    status = resp.status
                    text = await resp.text()
            except (aiohttp.ClientError, TimeoutError):
                self._count(f"{request.kind} connection error", failed=True)
            else:
                try:
                    body: dict[str, Any] = orjson.loads(text)
                    code = body.get("error", {}).get("code") if status >= 400 else None
                except orjson.JSONDecodeError:
                    body, code = {}, "not JSON"  # every answer should be JSON: reported
                self._count(
                    f"{request.kind} {status}" + (f" {code}" if code else ""), status == 503
                )
                if status != 503:
                    self._learn(request, status, body)
                    return status, body
            if time.monotonic() > self.give_up_at:
                self.ledger.pending.append(request)
                return None
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, 1.0)

    def _count(self, answer: str, failed: bool) -> None:
        self.ledger.answers[answer] += 1
        if failed:
            self.ledger.failures_per_second[self.ledger.second()] += 1

    def _learn(self, request: Pending, status: int, body: dict[str, Any]) -> None:
        hold = request.hold
        if hold is None:
            return
        if request.kind == "confirm" and status == 200:
            if hold.status != "confirmed":
                self.ledger.orders_per_second[self.ledger.second()] += 1
            hold.status, hold.order_id = "confirmed", body["order_id"]
        elif request.kind == "confirm" and status == 409:
            # hold_expired, or already_confirmed: either way this payment is owed back.
            self.ledger.refunds.add(f"{hold.hold_id}:{request.body['payment_ref']}")
            if hold.status == "held":
                hold.status = "refund_due"
        elif request.kind == "cancel" and status == 200:
            hold.status = body["outcome"]  # cancelled, or expired when it was too late


async def resolve_pending(buyers: Buyers, timeout_s: float) -> None:
    """Send again, unchanged, every request the run gave up on, now that nothing is broken,
    so each buyer learns what became of it."""
    left, buyers.ledger.pending = buyers.ledger.pending, []
    buyers.give_up_at = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    ) as session:
        for request in left:
            answer = await buyers.send(session, request)
            if answer is not None and request.kind == "reserve" and answer[0] in (200, 201):
                buyers.remember(request.user_id, answer[1]["hold"])
