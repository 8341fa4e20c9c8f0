"""Scenario 1, the flash-sale rush: buyers wait for the countdown and press buy at zero.

Some press twice with the same idempotency key (a retry: they must get the same hold), some
try to buy over the limit, most pay and the rest let their hold lapse, whose units then go
back on sale to buyers still trying. Each reservation is reported under its outcome, e.g.
``reserve [sold_out]``, so Locust's statistics show rates and latencies per outcome.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import gevent
from locust import FastHttpUser, constant, task

from loadtests.scenarios.common import SETTINGS, next_user, now_ms

#: Reservation outcomes that are correct answers, not errors.
EXPECTED = {"reserved", "sold_out", "limit_reached", "not_open", "closed", "paused"}


class FlashSaleBuyer(FastHttpUser):
    """A viewer who presses buy at zero, retrying the same press on errors."""

    wait_time = constant(0)

    def on_start(self) -> None:
        """Sign in as a fresh viewer, with the rush's opening time and per-buyer limit."""
        self.user_id, token = next_user("buyer")
        self.headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(f"{SETTINGS.run}-{self.user_id}")
        self.rng = rng
        self.pays = rng.random() < SETTINGS.pay_share
        self.retries = rng.random() < SETTINGS.retry_share
        self.greedy = rng.random() < SETTINGS.greedy_share
        self.finished = False
        with self.client.get(f"/api/offers/{SETTINGS.offer_id}", name="offer") as resp:
            offer = resp.json()
        self.opens_at_ms = float(offer["opens_at_ms"])
        self.limit = int(offer["per_user_limit"])
        self.units = 0

    @task
    def press_buy(self) -> None:
        """Press buy like a viewer in a rush: retry, pay or let the hold lapse."""
        if self.finished:
            gevent.sleep(1)
            return
        wait_ms = self.opens_at_ms - now_ms()
        if wait_ms > 0:
            # Viewers watch the countdown; a few press a little early, like real ones.
            gevent.sleep(max(0.0, wait_ms / 1000 - self.rng.uniform(0, 0.2)))
        key = f"press-{uuid.uuid4().hex}"
        outcome, body = self.reserve(key)
        if outcome == "reserved" and self.retries:
            # The same press again, as a client retry after a lost answer: same hold, no unit.
            again, repeat = self.reserve(key, retry=True)
            if again != "reserved" or repeat["hold"]["hold_id"] != body["hold"]["hold_id"]:
                self.environment.events.request.fire(
                    request_type="CHECK",
                    name="retry returns the first hold",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError(f"retry answered {again}"),
                    context={},
                )
        if outcome == "reserved":
            self.units += int(body["hold"]["quantity"])
            if self.greedy:
                self.reserve(f"press-{uuid.uuid4().hex}", quantity=self.limit)
            if self.pays or now_ms() > SETTINGS.pay_all_after_ms:
                gevent.sleep(self.rng.uniform(0.2, 1.5))  # typing in the card details
                self.confirm(body["hold"]["hold_id"])
            if self.units >= self.limit:
                self.finished = True
        elif outcome in ("sold_out", "not_open", "paused"):
            # Watching the stock bar: units of lapsed holds come back.
            gevent.sleep(self.rng.uniform(0.3, 1.0))
        else:
            self.finished = True

    def reserve(
        self, key: str, quantity: int = 1, retry: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """One reservation request, named by its outcome in Locust's statistics."""
        with self.client.post(
            f"/api/offers/{SETTINGS.offer_id}/reservations",
            json={"quantity": quantity, "idempotency_key": key},
            headers=self.headers,
            name="reserve",
            catch_response=True,
        ) as resp:
            body: dict[str, Any] = resp.json() if resp.content else {}
            if resp.status_code in (200, 201):
                outcome = "reserved"
            else:
                outcome = str(body.get("error", {}).get("code", f"http_{resp.status_code}"))
            label = "retry" if retry else outcome
            resp.request_meta["name"] = f"reserve [{label}]"
            if outcome in EXPECTED:
                resp.success()
            else:
                resp.failure(f"{resp.status_code} {outcome}")
            return outcome, body

    def confirm(self, hold_id: str) -> None:
        """Pay for a hold."""
        with self.client.post(
            f"/api/holds/{hold_id}/confirm",
            json={"payment_ref": f"psp-{hold_id}"},
            headers=self.headers,
            name="confirm",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                resp.success()
            elif resp.status_code == 409:
                # Paid too late and the units went to someone else: correct, and refunded.
                resp.request_meta["name"] = "confirm [hold_expired]"
                resp.success()
            else:
                resp.failure(f"{resp.status_code}")
