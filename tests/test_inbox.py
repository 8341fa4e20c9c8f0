"""A socket's messages in flight (server/room/inbox.py): who runs alongside whom, and the
order of the answers."""

from __future__ import annotations

import asyncio
from typing import Any

from server.room.inbox import Inbox


class Recorder:
    """A handler that notes what is running when each message starts."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.seen_running: dict[str, set[str]] = {}
        self.frames: list[list[dict[str, Any]]] = []

    async def handle(self, body: str) -> dict[str, Any]:
        self.seen_running[body] = set(self.running)
        self.running.add(body)
        try:
            await asyncio.sleep(0.01 if body.startswith("press") else 0.002)
            if body == "boom":
                raise RuntimeError("a bug")
            return {} if body == "like" else {"answer": body}
        finally:
            self.running.discard(body)

    def send(self, answers: list[dict[str, Any]]) -> None:
        self.frames.append(answers)


async def test_presses_run_together_other_messages_alone_answers_in_order() -> None:
    recorder = Recorder()
    inbox = Inbox(recorder.handle, recorder.send, limit=4)
    bodies = ["press1", "press2", "press3", "chat", "press4", "press5", "like", "boom", "press6"]
    for body in bodies:
        await inbox.put(body, alongside=body.startswith("press"))
    await inbox.drain()
    await asyncio.sleep(0)

    # Presses overlap each other; any other message starts with nothing running, and
    # nothing starts while it runs.
    assert recorder.seen_running["press3"] == {"press1", "press2"}
    assert recorder.seen_running["press5"] == {"press4"}
    for alone in ("chat", "like", "boom", "press4", "press6"):
        assert recorder.seen_running[alone] == set(), alone
    answers = [a for frame in recorder.frames for a in frame]
    assert [a.get("answer", a.get("code")) for a in answers] == [
        "press1",
        "press2",
        "press3",
        "chat",
        "press4",
        "press5",
        "internal_error",
        "press6",
    ]
    # Presses answered at the same moment share a frame.
    assert recorder.frames[0] == [{"answer": b} for b in ("press1", "press2", "press3")]
