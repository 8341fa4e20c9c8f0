"""Scenario 2, live-room load: WebSocket viewers, a share of them chatting, all liking.

Each room event carries its server timestamp (``at_ms``); the time from it to arrival here
is reported as a Locust request of type ``WS`` named ``push <event type>``, so push latency
shows in Locust's statistics next to the HTTP figures. Load generator and server share a
clock on one machine; across machines, sync them (chrony) or read the figure with care.
"""

from __future__ import annotations

import random
from typing import Any

import gevent
import orjson
import websocket
from locust import User, between, task

from loadtests.scenarios.common import SETTINGS, next_user, now_ms


class RoomViewer(User):
    """A viewer watching a room over its WebSocket."""

    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        """Join the room over a WebSocket and start reading its events."""
        self.user_id, token = next_user("viewer")
        self.chatty = random.Random(self.user_id).random() < SETTINGS.chat_share
        base = (self.host or "http://127.0.0.1:8080").replace("http", "ws", 1)
        started = now_ms()
        try:
            self.ws = websocket.create_connection(
                f"{base}/rooms/{SETTINGS.room_id}/live?token={token}", timeout=30
            )
        except Exception as exc:
            self._report("CONNECT", "join room", now_ms() - started, 0, exc)
            raise
        self._report("CONNECT", "join room", now_ms() - started, 0, None)
        self.said = 0
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        while True:
            try:
                data = self.ws.recv()
            except Exception as exc:
                self._report("WS", "socket closed", 0, 0, exc)
                return
            arrived = now_ms()
            events: list[dict[str, Any]] = orjson.loads(data).get("events", [])
            size = len(data) // max(1, len(events))
            for event in events:
                # Room events (with an offset) were pushed; hello/snapshot/replies were not.
                if "offset" in event and "at_ms" in event and event["type"] != "snapshot":
                    self._report(
                        "WS", f"push {event['type']}", arrived - event["at_ms"], size, None
                    )

    def _report(
        self, kind: str, name: str, ms: float, size: int, exception: Exception | None
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=max(0.0, ms),
            response_length=size,
            exception=exception,
            context={},
        )

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send(orjson.dumps(message).decode())

    @task(5)
    def like(self) -> None:
        """Send a like."""
        self._send({"type": "like"})

    @task(2)
    def chat(self) -> None:
        """Post a chat message."""
        if self.chatty:
            self.said += 1
            self._send({"type": "chat", "text": f"Love it! #{self.said}"})

    def on_stop(self) -> None:
        """Close the socket."""
        self.reader.kill()
        self.ws.close()
