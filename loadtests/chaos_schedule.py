"""The chaos run's schedule: what is broken when, spread over the run, each action once.

1. ``kill_worker``: SIGKILL a server worker (the supervisor starts another);
2. ``kafka_outage``: stop Kafka for longer than the relays' Kafka timeout; during it, SIGKILL
   relay-b, once it holds outbox entries it read and could not send (if it comes to that),
   and leave it down;
3. ``kill_relay``: once Kafka is back and relay-a is draining the backlog, SIGKILL relay-a
   and start it again under its name a few seconds later; when it has taken over relay-b's
   stranded entries (or long enough that it should have), start relay-b again;
4. ``redis_shutdown``: restart Redis cleanly (``SHUTDOWN`` fsyncs its append-only file);
5. ``redis_crash``: SIGKILL Redis and start it again on the same port and data.

Actions run one after another, never overlapping: a worker that starts while Redis is down
exits at its preflight, and the supervisor stops every worker when one fails at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .chaos_stack import ChaosStack

#: Shortest pause between two actions, so the service is seen recovering under load.
MIN_GAP_S = 2.0
POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Event:
    """One action of the schedule, as it happened."""

    at_s: float
    action: str
    detail: str
    took_s: float


@dataclass(frozen=True, slots=True)
class Plan:
    """How long the run is, and how long things stay broken."""

    duration_s: float
    down_s: float
    kafka_outage_s: float
    #: The relays' Kafka timeout; also their idle time before a takeover, in seconds.
    relay_timeout_s: float

    def lengths(self) -> list[float]:
        """About how long each action takes, to spread them over the run."""
        relay = self.relay_timeout_s * 2.5 + self.down_s + 2
        return [1.0, self.kafka_outage_s + 2, relay, self.down_s + 1, self.down_s + 1]

    def gap_s(self) -> float:
        """The pause before each action; the last tenth of the run stays calm."""
        spare = self.duration_s * 0.9 - sum(self.lengths())
        return max(MIN_GAP_S, spare / len(self.lengths()))


async def _until(done: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``done`` (a look at a log or at Redis) until true or out of time."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await asyncio.to_thread(done):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)


class Chaos:
    """Runs the plan against the stack, recording each action with its time in the run."""

    def __init__(self, stack: ChaosStack, plan: Plan, started: float) -> None:
        self.stack = stack
        self.plan = plan
        self.started = started
        self.events: list[Event] = []
        self.stranded = 0

    async def run(self) -> None:
        """Every action once, in order, with a pause before each."""
        actions: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("kill_worker", self.kill_worker),
            ("kafka_outage", self.kafka_outage),
            ("kill_relay", self.kill_relay),
            ("redis_shutdown", self.redis_shutdown),
            ("redis_crash", self.redis_crash),
        ]
        for name, action in actions:
            # relay-a is killed while it drains what piled up during the outage: no pause.
            if name != "kill_relay":
                await asyncio.sleep(self.plan.gap_s())
            began = time.monotonic()
            detail = await action()
            took = round(time.monotonic() - began, 1)
            self.events.append(Event(round(began - self.started, 1), name, detail, took))

    def _note(self, text: str) -> None:
        print(f"  {time.monotonic() - self.started:6.1f} s  {text}", flush=True)

    async def kill_worker(self) -> str:
        """SIGKILL one worker; done when the supervisor has started its replacement."""
        detail = await asyncio.to_thread(self.stack.kill_worker)
        self._note(detail)
        return detail

    async def kafka_outage(self) -> str:
        """Kafka stopped for ``kafka_outage_s``; relay-b killed during it, left down."""
        relay = self.stack.relay_names[-1]
        await asyncio.to_thread(self.stack.kafka.stop)
        stopped = time.monotonic()
        self._note("Kafka stopped")
        # A relay that read a batch just before or as Kafka went keeps it pending; kill
        # relay-b holding one if it comes to that within half the outage.
        await _until(lambda: self.stack.pending_of(relay) > 0, self.plan.kafka_outage_s / 2)
        killed = await asyncio.to_thread(self.stack.kill_relay, relay)
        self.stranded = await asyncio.to_thread(self.stack.pending_of, relay)
        self._note(f"{killed}, with {self.stranded} outbox entries pending")
        await asyncio.sleep(max(0.0, self.plan.kafka_outage_s - (time.monotonic() - stopped)))
        await asyncio.to_thread(self.stack.kafka.start)
        down = time.monotonic() - stopped
        self._note(f"Kafka started again after {down:.0f} s")
        return (
            f"Kafka stopped for {down:.0f} s; {killed} during it, with {self.stranded} "
            "outbox entries pending; relay-b left down"
        )

    async def kill_relay(self) -> str:
        """SIGKILL relay-a as it drains the backlog; start it again after ``down_s``; start
        relay-b again once its stranded entries were taken over."""
        name, other = self.stack.relay_names[0], self.stack.relay_names[-1]
        connected = self.stack.log_count(name, "connected to Kafka")
        # relay-a may take relay-b's entries over as soon as Kafka is back, or after its
        # restart: either counts.
        before = self.stack.took_over()
        backlog = await asyncio.to_thread(self.stack.outbox_depth)
        await _until(
            lambda: self.stack.log_count(name, "connected to Kafka") > connected,
            self.plan.relay_timeout_s * 2 + 10,
        )
        killed = await asyncio.to_thread(self.stack.kill_relay, name)
        left = await asyncio.to_thread(self.stack.outbox_depth)
        self._note(f"{killed} while draining ({backlog} entries at Kafka's return, {left} left)")
        await asyncio.sleep(self.plan.down_s)
        await asyncio.to_thread(self.stack.start_relay, name)
        self._note(f"{name} started again")
        took = self.stranded > 0 and await _until(
            lambda: self.stack.took_over() > before, self.plan.relay_timeout_s * 2 + 10
        )
        await asyncio.to_thread(self.stack.start_relay, other)
        taken = (
            f"{name} took over {other}'s {self.stranded} stranded entries"
            if took
            else f"no takeover logged ({self.stranded} entries were stranded)"
        )
        self._note(f"{taken}; {other} started again")
        return (
            f"{killed} while draining the outage's backlog ({backlog} entries at Kafka's "
            f"return, {left} left); started again after {self.plan.down_s:.0f} s; {taken}; "
            f"{other} started again"
        )

    async def redis_shutdown(self) -> str:
        """Redis SHUTDOWN (append-only file fsynced), down for ``down_s``, started again."""
        await asyncio.to_thread(self.stack.shutdown_redis)
        self._note("Redis SHUTDOWN")
        await asyncio.sleep(self.plan.down_s)
        await asyncio.to_thread(self.stack.redis.start)
        self._note("Redis started again")
        return f"SHUTDOWN; started again after {self.plan.down_s:.0f} s on the same port and data"

    async def redis_crash(self) -> str:
        """SIGKILL Redis, down for ``down_s``, started again from its append-only file."""
        await asyncio.to_thread(self.stack.kill_redis)
        self._note("Redis SIGKILL")
        await asyncio.sleep(self.plan.down_s)
        await asyncio.to_thread(self.stack.redis.start)
        self._note("Redis started again")
        return f"SIGKILL; started again after {self.plan.down_s:.0f} s on the same port and data"
