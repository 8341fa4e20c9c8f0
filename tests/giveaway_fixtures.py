"""Fixtures of the giveaway tests (tests/test_giveaways*.py load them with
``pytest_plugins``): quick giveaway settings, and the app with a live show in room show-1."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from server.app import create_app
from server.giveaways.settings import GiveawaySettings
from server.room.settings import RoomSettings
from server.settings import Settings

from .giveaway_helpers import ROOM, ok
from .room_helpers import Client


@pytest.fixture
def giveaway_settings() -> GiveawaySettings:
    return GiveawaySettings(
        results_topic=f"test.giveaways.{uuid.uuid4().hex[:10]}",
        check_interval_s=0.05,
        count_interval_ms=100,
    )


@pytest.fixture
async def gw_client(
    aiohttp_client: Any, app_settings: Settings, giveaway_settings: GiveawaySettings, redis: Redis
) -> Client:
    """The app with quick rooms and giveaways, and a live show in room show-1."""
    settings = dataclasses.replace(
        app_settings,
        giveaways=giveaway_settings,
        room=RoomSettings(batch_window_s=0.02, chat_min_interval_ms=0, stock_interval_s=0.05),
    )
    client: Client = await aiohttp_client(create_app(settings))
    await ok(client, "POST", "/api/shows", {"room_id": ROOM, "title": "Evening show"})
    await ok(client, "POST", f"/api/shows/{ROOM}/live")
    return client
