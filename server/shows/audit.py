"""Who did what in a show: every host action, with the host and their role, for the report's
"audit" section. Features outside the API's host checks call ``server/api/audit.py``
``audit(app, room_id, host_id, action, detail)``."""

from __future__ import annotations

from typing import Any, cast

import orjson
from redis.asyncio import Redis

from ..room.keys import RoomKeys

#: The newest entries kept per show.
KEEP = 5000


def audit_key(room_id: str) -> str:
    """List: the show's audit entries (JSON), oldest first."""
    return f"{RoomKeys(room_id).show}:audit"


class AuditLog:
    """Every show's audit list, kept in Redis beside the show."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def record(
        self, room_id: str, host_id: str, role: str, action: str, detail: Any, at_ms: int
    ) -> None:
        """Add one action to the show's list (the oldest go past KEEP entries)."""
        entry = {"at_ms": at_ms, "host_id": host_id, "role": role, "action": action}
        entry["detail"] = detail
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(audit_key(room_id), orjson.dumps(entry))
        pipe.ltrim(audit_key(room_id), -KEEP, -1)
        await pipe.execute()

    async def entries(self, room_id: str) -> list[dict[str, Any]]:
        """The show's audit list, oldest first."""
        raw = cast(list[str], await self.redis.lrange(audit_key(room_id), 0, -1))
        return [orjson.loads(item) for item in raw]
