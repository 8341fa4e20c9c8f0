"""Scenario 3, host console activity during load: launching offers, restocking, moderating.

Run it beside the live-room scenario (``-f live_room.py,host_console.py``): one host (per
Locust process) drives the show while the viewers watch. Expected refusals, such as pulling
more stock than is left, count as successes; anything 5xx is a failure.
"""

from __future__ import annotations

import itertools
import random

from locust import FastHttpUser, between, task

from loadtests.scenarios.common import SETTINGS

_skus = itertools.count(1)


class HostConsole(FastHttpUser):
    """A host running a show from the console."""

    fixed_count = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        """Open the host's console on the load test's room."""
        self.headers = {"Authorization": f"Bearer {SETTINGS.host_token}"}
        self.room = f"/api/rooms/{SETTINGS.room_id}"
        self.show = f"/api/shows/{SETTINGS.room_id}"
        self.offers: list[str] = []
        self.launch_offer()

    def _post(
        self, path: str, body: dict[str, object], name: str, ok: tuple[int, ...]
    ) -> dict[str, object]:
        with self.client.post(
            path, json=body, headers=self.headers, name=name, catch_response=True
        ) as resp:
            if resp.status_code in ok:
                resp.success()
            else:
                resp.failure(f"{resp.status_code} {resp.text[:200]}")
            return resp.json() if resp.status_code < 300 else {}

    @task(1)
    def launch_offer(self) -> None:
        """Add a product to the show and launch it."""
        sku = f"LOAD-{next(_skus)}"
        product = {
            "sku": sku,
            "title": f"Load item {sku}",
            "unit_price": 990,
            "currency": "EUR",
            "stock": 50,
            "per_user_limit": 2,
            "hold_seconds": 60,
            "countdown_seconds": 1,
            "window_seconds": 120,
        }
        offer = self._post(f"{self.show}/products", product, "host: add product", (201,))
        if "id" in offer:
            offer_id = str(offer["id"])
            self._post(f"{self.show}/offers/{offer_id}/launch", {}, "host: launch", (200,))
            self.offers.append(offer_id)

    @task(3)
    def restock(self) -> None:
        """Add units to a launched offer."""
        if self.offers:
            offer = random.choice(self.offers)
            self._post(f"/api/offers/{offer}/restock", {"quantity": 5}, "host: restock", (200,))

    @task(2)
    def pull(self) -> None:
        """Take units off sale."""
        if self.offers:
            offer = random.choice(self.offers)
            self._post(f"/api/offers/{offer}/pull", {"quantity": 3}, "host: pull", (200, 409))

    @task(2)
    def announce(self) -> None:
        """Post an announcement to the room."""
        self._post(
            f"{self.room}/announcements", {"text": "Two minutes left!"}, "host: announce", (201,)
        )

    @task(1)
    def moderate(self) -> None:
        """Mute and unmute a viewer."""
        user = f"{SETTINGS.run}-viewer-troll-{random.randint(1, 50)}"
        self._post(f"{self.room}/mutes", {"user_id": user, "muted": True}, "host: mute", (200,))
        self._post(f"{self.room}/mutes", {"user_id": user, "muted": False}, "host: unmute", (200,))

    @task(5)
    def dashboard(self) -> None:
        """Read the show (its dashboard)."""
        self.client.get(self.show, headers=self.headers, name="host: dashboard")
