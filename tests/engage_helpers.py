"""Helpers of the polls, questions and goals tests: a show in room show-1, requests that
must fail with a code."""

from __future__ import annotations

from typing import Any

from .helpers import HOST
from .room_helpers import Client

ROOM = "show-1"


async def create_show(client: Client, room_id: str = ROOM, **product: Any) -> dict[str, Any]:
    """A show in ``room_id``; with ``product`` fields, one product in its line-up."""
    body: dict[str, Any] = {"room_id": room_id, "title": "Evening show"}
    if product:
        body["products"] = [
            {
                "sku": "MUG",
                "title": "Mug",
                "unit_price": 500,
                "currency": "EUR",
                "stock": 100,
                "per_user_limit": 100,
                "countdown_seconds": 0,
                "window_seconds": 600,
                **product,
            }
        ]
    resp = await client.post("/api/shows", json=body, headers=HOST)
    assert resp.status == 201, await resp.text()
    show: dict[str, Any] = await resp.json()
    return show


async def fails(
    client: Client, method: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, str]:
    """A request that must fail: its status and error code."""
    resp = await client.request(method, path, json=body, headers=headers)
    assert resp.status >= 400, await resp.text()
    error = (await resp.json())["error"]
    assert error["message"]
    return resp.status, str(error["code"])


async def ok(
    client: Client, method: str, path: str, body: Any = None, headers: dict[str, str] = HOST
) -> Any:
    """A request that must succeed: its JSON answer."""
    resp = await client.request(method, path, json=body, headers=headers)
    assert resp.status < 300, await resp.text()
    return await resp.json()
