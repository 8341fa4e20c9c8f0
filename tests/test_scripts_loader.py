"""The repository's one Lua loader: every script says what it takes and answers, the stock
scripts share their prelude, and a started keeper has loaded them all."""

from __future__ import annotations

import dataclasses
from importlib import resources

import pytest
from redis.asyncio import Redis

from server.room.room_scripts import ROOM_LUA
from stockkeeper.keeper import StockKeeper
from stockkeeper.scripts.loader import LuaFolder
from stockkeeper.scripts.registry import STOCK_LUA, Scripts


@pytest.fixture
def scripts(keeper: StockKeeper) -> Scripts:
    """The stock scripts, registered and loaded by a started keeper."""
    return keeper.scripts


def lua_files(folder: LuaFolder) -> list[str]:
    path = resources.files(folder.package)
    if folder.folder:
        path = path.joinpath(folder.folder)
    return sorted(f.name[:-4] for f in path.iterdir() if f.name.endswith(".lua"))


@pytest.mark.parametrize(
    ("folder", "name"),
    [(STOCK_LUA, n) for n in lua_files(STOCK_LUA) if n != STOCK_LUA.prelude]
    + [(ROOM_LUA, n) for n in lua_files(ROOM_LUA)],
)
def test_every_script_starts_with_its_keys_arguments_and_replies(
    folder: LuaFolder, name: str
) -> None:
    header = "\n".join(line for line in folder.read(name).splitlines() if line.startswith("--"))
    assert folder.read(name).startswith("--")
    for word in ("KEYS[1]", "ARGV[1]", "Returns"):
        assert word in header, f"{name}.lua does not say {word}"


def test_the_stock_scripts_carry_the_shared_prelude_and_the_rooms_none() -> None:
    source = STOCK_LUA.source("hold_cancel")
    assert source.startswith(STOCK_LUA.read("lib"))
    assert source.endswith(STOCK_LUA.read("hold_cancel"))
    assert ROOM_LUA.source("room_publish") == ROOM_LUA.read("room_publish")


async def test_a_started_keeper_has_loaded_every_stock_script(
    keeper: StockKeeper, scripts: Scripts, redis: Redis
) -> None:
    group_scripts = keeper.groups.scripts
    shas = [script.sha for script in scripts.all()] + [
        getattr(group_scripts, f.name).sha for f in dataclasses.fields(group_scripts)
    ]
    assert len(shas) == len(lua_files(STOCK_LUA)) - 1  # all but the prelude
    assert await redis.script_exists(*shas) == [True] * len(shas)
