"""Fixtures of the live-room tests (tests/test_room*.py load them with ``pytest_plugins``):
an app with quick room settings, and viewer sockets on room show-1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server.app import create_app
from server.room.settings import RoomSettings
from server.settings import Settings

from .room_helpers import Client, Connect, events_until, of_type, token


@pytest.fixture
def room_settings() -> RoomSettings:
    return RoomSettings(batch_window_s=0.02, chat_min_interval_ms=0, stock_interval_s=0.05)


@pytest.fixture
async def room_client(
    aiohttp_client: Any, app_settings: Settings, room_settings: RoomSettings, redis: Any
) -> Client:
    settings = dataclasses.replace(app_settings, room=room_settings)
    client: Client = await aiohttp_client(create_app(settings))
    return client


@pytest.fixture
async def connect(room_client: Client) -> AsyncIterator[Connect]:
    """Open a viewer socket on room ``show-1`` (signed in when a user id is given)."""
    sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def open_socket(
        user: str | None = None, room: str = "show-1", since: str | None = None
    ) -> aiohttp.ClientWebSocketResponse:
        params = {}
        if user:
            params["token"] = token(user)
        if since:
            params["since"] = since
        ws = await room_client.ws_connect(f"/rooms/{room}/live", params=params)
        sockets.append(ws)
        await events_until(ws, of_type("snapshot") if not since else lambda e: True)
        return ws

    yield open_socket
    for ws in sockets:
        await ws.close()
