"""JSON responses encoded with orjson, and the header every answer carries."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

#: Browsers must take each answer for the type it says it is and never guess (MIME
#: sniffing could run a JSON answer or an uploaded-looking file as a script or a page).
NO_SNIFFING = ("X-Content-Type-Options", "nosniff")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """``data`` as a JSON answer."""
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )
