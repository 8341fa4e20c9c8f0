"""A viewer socket's messages in flight, and their answers in order.

In a rush a phone may send several presses before the first answer comes back. Handled one
at a time, each would wait for a Redis round trip of its own and go out in a write of its
own. Here reservations run alongside each other (the stock keeper merges the presses of one
moment into one script call), and every other message runs alone: it waits for the messages
before it and holds back those after it, so a viewer's confirm or cancel never overtakes its
reservation. Answers go out in the order the messages came; answers ready at the same moment
share one frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..errors import INTERNAL_ERROR_MESSAGE, ErrorCode

log = logging.getLogger(__name__)

Answer = dict[str, Any]

INTERNAL_ERROR: Answer = {
    "type": "error",
    "code": ErrorCode.INTERNAL_ERROR.value,
    "message": INTERNAL_ERROR_MESSAGE,
}


@dataclass(eq=False, slots=True)
class _Message:
    body: Any
    alongside: bool
    answer: Answer | None = None
    done: bool = False


class Inbox:
    """A socket's messages in flight: presses side by side, answers in order."""

    def __init__(
        self,
        handle: Callable[[Any], Awaitable[Answer]],
        send: Callable[[list[Answer]], object],
        limit: int,
    ) -> None:
        """``handle`` answers a message ({} for no answer); ``send`` writes answers to the
        viewer; past ``limit`` unanswered messages the socket is not read."""
        self._handle = handle
        self._send = send
        self._limit = limit
        self._unanswered: deque[_Message] = deque()
        self._not_started: deque[_Message] = deque()
        self._running = 0
        self._alone = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._has_room = asyncio.Event()
        self._settle_soon = False

    async def put(self, body: Any, alongside: bool) -> None:
        """Start on a message (when its turn allows) without waiting for its answer."""
        message = _Message(body, alongside)
        self._unanswered.append(message)
        self._not_started.append(message)
        self._start_what_may_run()
        while len(self._unanswered) >= self._limit:
            self._has_room.clear()
            await self._has_room.wait()

    async def drain(self) -> None:
        """Wait until every message taken has been handled."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start_what_may_run(self) -> None:
        while self._not_started and not self._alone:
            message = self._not_started[0]
            if not message.alongside and self._running:
                return
            self._not_started.popleft()
            self._running += 1
            self._alone = not message.alongside
            task = asyncio.create_task(self._run(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, message: _Message) -> None:
        try:
            message.answer = await self._handle(message.body)
        except Exception:
            log.exception("A viewer's message could not be handled")
            message.answer = dict(INTERNAL_ERROR)
        finally:
            message.done = True
            self._running -= 1
            if not message.alongside:
                self._alone = False
            if not self._settle_soon:
                # After the other messages finishing at this moment, so their answers
                # share the frame.
                self._settle_soon = True
                asyncio.get_running_loop().call_soon(self._settle)
            self._start_what_may_run()

    def _settle(self) -> None:
        self._settle_soon = False
        ready: list[Answer] = []
        while self._unanswered and self._unanswered[0].done:
            answer = self._unanswered.popleft().answer
            if answer:
                ready.append(answer)
        if ready:
            self._send(ready)
        if len(self._unanswered) < self._limit:
            self._has_room.set()
