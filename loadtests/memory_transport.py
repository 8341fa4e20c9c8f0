"""An in-memory transport for aiohttp's protocol objects: requests are fed by hand and the
responses written back are counted by status, with no socket in between (what
``livesale-bench costs`` measures the server's own CPU with)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

#: The status line of each response the server writes.
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")


class Answers:
    """Responses written on all connections; wakes the driver when a batch is answered."""

    def __init__(self) -> None:
        self.count = 0
        self.expected = 0
        self.all_in = asyncio.Event()
        #: Responses by HTTP status: a case is only measured if it answered as it should.
        self.statuses: Counter[int] = Counter()

    def add(self, statuses: list[bytes]) -> None:
        """Count responses, by their status."""
        self.statuses.update(int(status) for status in statuses)
        self.count += len(statuses)
        if self.count >= self.expected:
            self.all_in.set()

    async def wait_for(self, expected: int) -> None:
        """Return once ``expected`` responses have been counted in all."""
        self.expected = expected
        self.all_in.clear()
        if self.count < expected:
            await self.all_in.wait()


class MemoryTransport(asyncio.Transport):
    """Takes what the server writes and counts the responses in it."""

    def __init__(self, answers: Answers) -> None:
        super().__init__()
        self._answers = answers
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Count the responses in what the server wrote."""
        self._answers.add(STATUS_LINE.findall(bytes(data)))

    def writelines(self, chunks: Any) -> None:
        """Count the responses in each chunk."""
        for chunk in chunks:
            self.write(chunk)

    def is_closing(self) -> bool:
        """Whether ``close`` was called."""
        return self._closing

    def close(self) -> None:
        """Mark the transport closing."""
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Loopback addresses, as a real socket would report."""
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(
            name, default
        )

    def get_write_buffer_size(self) -> int:
        """Nothing is ever buffered."""
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """No buffer, so no limits."""
        pass

    def pause_reading(self) -> None:
        """Nothing to pause: requests are fed by hand."""
        pass

    def resume_reading(self) -> None:
        """Nothing to resume: requests are fed by hand."""
        pass

    def can_write_eof(self) -> bool:
        """No half-close."""
        return False
