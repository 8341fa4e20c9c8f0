"""``livesale serve --workers N``: N server processes sharing one port (SO_REUSEPORT).

The kernel spreads new connections over the processes. Nothing is shared in memory: stock,
holds, rooms, sessions and sold-out flags live in Redis, orders in Kafka, so a worker can die
and be replaced at any moment. This supervisor starts the workers, restarts one that dies,
and on SIGTERM/SIGINT passes the signal on (each worker closes its viewers' sockets with
1001 GOING_AWAY so they reconnect) and waits for them.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

from .settings import Settings

log = logging.getLogger(__name__)

#: A worker that dies this soon after its first start is failing (a port taken, a bad
#: setting), not crashing once: stop them all and say so.
FAST_FAILURE_S = 5.0
#: A worker that served before and now fails at start (Redis down, say) is tried again
#: after this wait, doubled each time up to the maximum; the other workers go on serving.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
STOP_TIMEOUT_S = 30.0


def worker_env(base: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """A worker's environment: the supervisor's, plus the secrets every worker must share.

    When the operator set no secrets, ``settings`` holds ones made up once for this run;
    passing them on keeps a viewer's token and a host's cookie good on every worker.
    """
    return {
        **base,
        "LIVESALE_VIEWER_SECRET": settings.viewer_token_secret,
        "LIVESALE_SESSION_SECRET": settings.session_secret,
    }


class Supervisor:
    """Starts the workers of one ``serve --workers N``, restarts one that dies, stops them all."""

    def __init__(
        self, workers: int, serve_args: Sequence[str], env: dict[str, str], relay_name: str
    ) -> None:
        self.count = workers
        self.serve_args = list(serve_args)
        self.env = env
        self.relay_name = relay_name
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.started_at: dict[int, float] = {}
        #: Workers that have served (lived past FAST_FAILURE_S) at least once.
        self.served: set[int] = set()
        #: Workers whose current process has lived past FAST_FAILURE_S.
        self.settled: set[int] = set()
        self.retry_wait: dict[int, float] = {}
        self.stopping = False
        self.failed = False

    def _start(self, index: int) -> None:
        env = {
            **self.env,
            "LIVESALE_WORKER": str(index),
            "LIVESALE_WORKERS": "1",  # a worker serves; it does not start workers of its own
            # Relays share the outbox through their consumer group; each needs its own name
            # so that a restarted worker re-sends exactly what it had in flight.
            "LIVESALE_RELAY_NAME": f"{self.relay_name}-w{index}",
        }
        command = [
            sys.executable,
            "-c",
            "from server.cli import main; main()",
            "serve",
            "--reuse-port",
            *self.serve_args,
        ]
        self.processes[index] = subprocess.Popen(command, env=env)
        self.started_at[index] = time.monotonic()
        self.settled.discard(index)
        log.info("Worker %d started (pid %d)", index, self.processes[index].pid)

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT; the exit status (1 when a worker failed at start)."""
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)
        for index in range(self.count):
            self._start(index)
        restart_at: dict[int, float] = {}
        while not self.stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for index, when in list(restart_at.items()):
                if now >= when and not self.stopping:
                    del restart_at[index]
                    self._start(index)
            for index, process in list(self.processes.items()):
                if index in restart_at or self.stopping:
                    continue
                code = process.poll()
                lived = now - self.started_at[index]
                if code is None:
                    if lived >= FAST_FAILURE_S and index not in self.settled:
                        self.settled.add(index)
                        self.served.add(index)
                        self.retry_wait[index] = RETRY_FIRST_S
                    continue
                if lived >= FAST_FAILURE_S:
                    log.warning("Worker %d exited (code %d); starting a new one", index, code)
                    self._start(index)
                elif index in self.served:
                    wait = self.retry_wait[index]
                    self.retry_wait[index] = min(wait * 2, RETRY_MAX_S)
                    log.warning(
                        "Worker %d failed again at start (exit %d); trying again in %.0f s, "
                        "the other workers go on serving",
                        index,
                        code,
                        wait,
                    )
                    restart_at[index] = now + wait
                else:
                    log.error("Worker %d failed at start (exit %d); stopping all", index, code)
                    self.failed = True
                    self._signal(signal.SIGTERM, None)
                    break
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        log.info("All %d workers stopped", self.count)
        return 1 if self.failed else 0
