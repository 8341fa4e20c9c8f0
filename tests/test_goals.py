"""Tiered sales goals over real Redis: bad goals, tiers crossed by confirms (also on two
server processes at once) firing their reward exactly once, a winner that died before
starting its reward, progress and the report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import aiohttp
import msgpack
import pytest
from redis.asyncio import Redis

from server.app import create_app
from server.appkeys import GOAL_REWARDS
from server.errors import Invalid
from server.goals import watcher as watcher_module
from server.goals.goal_scripts import GoalScripts, RoomLog
from server.goals.keys import GoalKeys
from server.goals.rewards import GoalRewards
from server.room.keys import RoomKeys
from server.settings import Settings
from stockkeeper.settings import StockSettings

from .engage_helpers import ROOM, create_show, fails, ok
from .helpers import HOST, serve_processes, viewer, wait_for
from .room_helpers import Client, Connect, events_until, of_type
from .test_hosts import other_host

pytest_plugins = ["tests.room_fixtures"]

GOALS = f"/api/shows/{ROOM}/goals"


def announce(threshold: int, text: str) -> dict[str, Any]:
    return {"threshold": threshold, "reward": {"kind": "announcement", "text": text}}


async def live_offer(client: Client) -> str:
    """A show in room show-1, live, with its one product on sale now; the offer id."""
    show = await create_show(client, stock=1000)
    offer_id: str = show["offers"][0]["id"]
    await ok(client, "POST", f"/api/shows/{ROOM}/live")
    await ok(client, "POST", f"/api/shows/{ROOM}/offers/{offer_id}/launch")
    return offer_id


async def buy(session: Any, base: str, offer_id: str, user: str, quantity: int = 1) -> None:
    """Reserve and pay ``quantity`` units as ``user`` on the server at ``base``."""
    async with session.post(
        f"{base}/api/offers/{offer_id}/reservations",
        json={"idempotency_key": f"press-{user}", "quantity": quantity},
        headers=viewer(user),
    ) as resp:
        assert resp.status == 201, await resp.text()
        hold_id = (await resp.json())["hold"]["hold_id"]
    async with session.post(
        f"{base}/api/holds/{hold_id}/confirm",
        json={"payment_ref": f"pay-{user}"},
        headers=viewer(user),
    ) as resp:
        assert resp.status == 200, await resp.text()


async def raw_events(type_: str, url: str) -> list[dict[str, Any]]:
    """The room's events of one type, read with a client that keeps bytes."""
    client = Redis.from_url(url, decode_responses=False)
    try:
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(RoomKeys(ROOM).events)
        )
        return [
            msgpack.unpackb(fields[b"d"], raw=False)
            for _, fields in entries
            if fields[b"t"] == type_.encode()
        ]
    finally:
        await client.aclose()


async def test_bad_goals_get_stable_codes(room_client: Client, redis: Redis) -> None:
    await create_show(room_client)
    for body, expected in [
        (
            {"metric": "units", "tiers": [announce(10, "a"), announce(10, "b")]},
            (400, "thresholds_not_increasing"),
        ),
        (
            {"metric": "units", "tiers": [announce(10, "a"), announce(5, "b")]},
            (400, "thresholds_not_increasing"),
        ),
        ({"metric": "units", "tiers": [announce(0, "a")]}, (400, "out_of_range")),
        ({"metric": "units", "tiers": [announce(-5, "a")]}, (400, "out_of_range")),
        ({"metric": "units", "tiers": []}, (400, "invalid_field")),
        (
            {"metric": "units", "tiers": [{"threshold": 5, "reward": {"kind": "fireworks"}}]},
            (400, "unknown_reward"),
        ),
        (
            {"metric": "units", "tiers": [{"threshold": 5, "reward": {"text": "no kind"}}]},
            (400, "unknown_reward"),
        ),
        (
            {"metric": "units", "tiers": [{"threshold": 5, "reward": {"kind": "announcement"}}]},
            (400, "invalid_reward"),
        ),
        ({"metric": "units", "tiers": [announce(5, " ")]}, (400, "invalid_reward")),
        ({"metric": "gmv", "tiers": [announce(5, "a")]}, (400, "currency_needed")),
        ({"metric": "likes", "tiers": [announce(5, "a")]}, (400, "invalid_field")),
    ]:
        assert await fails(room_client, "PUT", GOALS, body, HOST) == expected, body
    good = {"metric": "units", "tiers": [announce(5, "a")]}
    assert (await fails(room_client, "PUT", GOALS, good, viewer("al")))[0] == 401
    rival = await other_host(redis)
    assert await fails(room_client, "PUT", GOALS, good, rival) == (403, "not_your_room")
    assert await fails(room_client, "PUT", "/api/shows/elsewhere/goals", good, HOST) == (
        404,
        "unknown_show",
    )


async def test_gmv_goals_count_in_the_shows_currency_by_default(
    room_client: Client, stock_settings: StockSettings
) -> None:
    offer_id = await live_offer(room_client)  # 5 EUR a unit
    body = {"metric": "gmv", "tiers": [announce(1000, "10 EUR sold!")]}
    goals = await ok(room_client, "PUT", GOALS, body)
    assert (goals["currency"], goals["value"]) == ("EUR", 0)
    async with aiohttp.ClientSession() as session:
        base = str(room_client.make_url("")).rstrip("/")
        await buy(session, base, offer_id, "ann", 2)

    async def reached() -> bool:
        view = await ok(room_client, "GET", f"/api/rooms/{ROOM}/goals", headers={})
        return bool(view["tiers"][0]["reward_status"] == "started")

    await wait_for(reached, what="the GMV tier reached")
    view = await ok(room_client, "GET", f"/api/rooms/{ROOM}/goals", headers={})
    assert view["value"] == 1000


async def test_confirms_crossing_tiers_fire_each_reward_once_and_show_progress(
    room_client: Client, connect: Connect, redis: Redis, stock_settings: StockSettings
) -> None:
    offer_id = await live_offer(room_client)
    watcher = await connect()
    body = {
        "metric": "units",
        "tiers": [announce(3, "Free gift at 3!"), {**announce(6, "Six!"), "label": "Six sold"}],
    }
    goals = await ok(room_client, "PUT", GOALS, body)
    assert [(t["threshold"], t["label"], t["reached"]) for t in goals["tiers"]] == [
        (3, "Free gift at 3!", False),
        (6, "Six sold", False),
    ]
    await events_until(watcher, of_type("goals_set"))
    async with aiohttp.ClientSession() as session:
        base = str(room_client.make_url("")).rstrip("/")
        await asyncio.gather(*(buy(session, base, offer_id, f"u{i}", 2) for i in range(4)))
    # The rewards start alongside each other: their events come in any order.
    seen: list[dict[str, Any]] = []

    def everything(event: dict[str, Any]) -> bool:
        seen.append(event)
        texts = {e.get("text") for e in seen if e["type"] == "announcement"}
        progress = [e for e in seen if e["type"] == "goal_progress" and e["value"] == 8]
        return texts >= {"Free gift at 3!", "Six!"} and bool(progress)

    await events_until(watcher, everything)
    reached = [e for e in seen if e["type"] == "goal_reached"]
    assert [(e["threshold"], e["label"], e["kind"]) for e in reached] == [
        (3, "Free gift at 3!", "announcement"),
        (6, "Six sold", "announcement"),
    ]
    [progress] = [e for e in seen if e["type"] == "goal_progress" and e["value"] == 8]
    assert progress["next_threshold"] is None

    async def settled() -> bool:
        view = await ok(room_client, "GET", f"/api/rooms/{ROOM}/goals", headers={})
        return all(t["reward_status"] == "started" for t in view["tiers"])

    await wait_for(settled, what="both rewards started")
    view = await ok(room_client, "GET", f"/api/rooms/{ROOM}/goals", headers={})
    assert view["value"] == 8
    assert all(t["reached"] for t in view["tiers"])
    await asyncio.sleep(1)  # more rounds of every watcher: nothing fires again
    texts = [e["text"] for e in await raw_events("announcement", stock_settings.redis_url)]
    assert sorted(texts) == ["Free gift at 3!", "Six!"]
    assert len(await raw_events("goal_reached", stock_settings.redis_url)) == 2

    # Tiers reached stay; new goals may add one above them, not drop or move them.
    dropping = {"metric": "units", "tiers": [announce(6, "Six!")]}
    assert await fails(room_client, "PUT", GOALS, dropping, HOST) == (409, "goal_reached")
    other = {"metric": "gmv", "currency": "EUR", "tiers": [announce(3, "a"), announce(6, "b")]}
    assert await fails(room_client, "PUT", GOALS, other, HOST) == (409, "goal_reached")
    more = {**body, "tiers": [*body["tiers"], announce(50, "Fifty!")]}
    assert len((await ok(room_client, "PUT", GOALS, more))["tiers"]) == 3

    report = await ok(room_client, "POST", f"/api/shows/{ROOM}/end")
    section = report["sections"]["goals"]
    assert [r["threshold"] for r in section["reached"]] == [3, 6]
    assert section["reached"][0]["value"] >= 3


async def test_a_tier_crossed_on_two_processes_at_once_fires_its_reward_once(
    redis: Redis, stock_settings: StockSettings, tmp_path: Path
) -> None:
    """Guards against every process that sees the crossing starting the reward."""
    with serve_processes(stock_settings, tmp_path) as (one, two):
        async with aiohttp.ClientSession() as session:
            show = {
                "room_id": ROOM,
                "title": "Two servers",
                "products": [
                    {
                        "sku": "MUG",
                        "title": "Mug",
                        "unit_price": 500,
                        "currency": "EUR",
                        "stock": 1000,
                        "per_user_limit": 10,
                        "countdown_seconds": 0,
                        "window_seconds": 600,
                    }
                ],
            }
            async with session.post(f"{one}/api/shows", json=show, headers=HOST) as resp:
                assert resp.status == 201, await resp.text()
                offer_id = (await resp.json())["offers"][0]["id"]
            for path in ("live", f"offers/{offer_id}/launch"):
                async with session.post(f"{one}/api/shows/{ROOM}/{path}", headers=HOST) as resp:
                    assert resp.status == 200, await resp.text()
            tiers = [announce(t, f"Tier {t}") for t in (10, 20, 40, 80)]
            body = {"metric": "units", "tiers": tiers}
            async with session.put(
                f"{two}/api/shows/{ROOM}/goals", json=body, headers=HOST
            ) as resp:
                assert resp.status == 200, await resp.text()
            # 100 confirms at once, half on each process: every tier is crossed while both
            # processes' watchers read the figure.
            await asyncio.gather(
                *(buy(session, (one, two)[i % 2], offer_id, f"v{i}") for i in range(100))
            )

            async def all_started() -> bool:
                async with session.get(f"{one}/api/rooms/{ROOM}/goals") as resp:
                    view = await resp.json()
                return all(t["reward_status"] == "started" for t in view["tiers"])

            await wait_for(all_started, timeout_s=20, what="every reward started")
            await asyncio.sleep(1.5)  # several more rounds on both processes
    reached = await raw_events("goal_reached", stock_settings.redis_url)
    assert sorted(e["threshold"] for e in reached) == [10, 20, 40, 80]
    texts = [e["text"] for e in await raw_events("announcement", stock_settings.redis_url)]
    assert sorted(texts) == sorted(f"Tier {t}" for t in (10, 20, 40, 80))


async def test_a_reward_whose_winner_died_before_starting_it_starts_once_later(
    room_client: Client, redis: Redis, stock_settings: StockSettings
) -> None:
    """Guards against a reward lost (or announced twice) when the process that won its
    tier dies between winning goal_cross.lua and starting the reward."""
    await create_show(room_client)
    body = {"metric": "units", "tiers": [announce(5, "Gift unlocked")]}
    await ok(room_client, "PUT", GOALS, body)
    # A process wins the tier and dies at once: its lease has already run out.
    scripts, k = GoalScripts(redis), GoalKeys(ROOM)
    version = int(await redis.hget(k.goals, "version") or 0)
    record = (
        b'{"threshold":5,"metric":"units","currency":null,"value":5,"reached_at_ms":1,'
        b'"label":"Gift unlocked","reward":{"kind":"announcement","text":"Gift unlocked"},'
        b'"reward_id":"goal:show-1:5"}'
    )
    log = RoomLog(RoomKeys(ROOM), 2000)
    event = msgpack.packb({"threshold": 5, "kind": "announcement"})
    assert await scripts.cross(k, log, version, 5, record, -1, event) == "won"
    assert await scripts.cross(k, log, version, 5, record, -1, event) == "taken"

    async def started() -> bool:
        return await redis.hget(k.status, "5") == "started"

    await wait_for(started, what="the reward started by another round")
    await asyncio.sleep(0.6)
    texts = [e["text"] for e in await raw_events("announcement", stock_settings.redis_url)]
    assert texts == ["Gift unlocked"]
    # A late retry of the dead winner's start announces nothing more.
    assert not await scripts.announce(k, log, 5, msgpack.packb({"text": "Gift unlocked"}))


async def test_of_fifty_processes_crossing_one_tier_at_once_one_wins(redis: Redis) -> None:
    """Guards against two processes both starting a tier's reward: goal_cross.lua records
    the tier and its goal_reached event for the first call only."""
    k, log = GoalKeys(ROOM), RoomLog(RoomKeys(ROOM), 2000)
    await redis.hset(k.goals, mapping={"ladder": "{}", "version": 1})
    record, event = b"{}", msgpack.packb({"threshold": 7})

    async def cross() -> str:
        return await GoalScripts(redis).cross(k, log, 1, 7, record, 30_000, event)

    outcomes = await asyncio.gather(*(cross() for _ in range(50)))
    assert sorted(outcomes) == ["taken"] * 49 + ["won"]
    assert await redis.xlen(RoomKeys(ROOM).events) == 1
    assert await redis.hget(k.status, "7") == "pending"
    # Goals set again since the caller read them: its crossing is stale, nothing recorded.
    assert await GoalScripts(redis).cross(k, log, 0, 9, record, 30_000, event) == "stale"


def test_the_reward_registry_takes_each_kind_once_and_checks_what_it_knows() -> None:
    rewards = GoalRewards()

    async def start(show: Any, spec: dict[str, Any]) -> None:
        pass

    rewards.add("confetti", start)
    with pytest.raises(ValueError, match="confetti"):
        rewards.add("confetti", start)
    rewards.check({"kind": "confetti", "colour": "gold"})
    for spec in ({"kind": "fireworks"}, {}, {"kind": 3}):
        with pytest.raises(Invalid) as refused:
            rewards.check(spec)
        assert refused.value.code == "unknown_reward"
        assert refused.value.details["kinds"] == ["confetti"]


async def test_a_reward_whose_starter_fails_is_started_again_with_the_same_reward_id(
    aiohttp_client: Any,
    app_settings: Settings,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guards against a reward lost when its starter fails once (a coupon service down for
    a moment): it stays pending and is retried after its lease, with the same reward_id."""
    monkeypatch.setattr(watcher_module, "REWARD_LEASE_MS", 200)
    app = create_app(app_settings)
    calls: list[str] = []

    async def flaky(show: Any, spec: dict[str, Any]) -> None:
        calls.append(spec["reward_id"])
        if len(calls) == 1:
            raise RuntimeError("the confetti service is down")

    app[GOAL_REWARDS].add("confetti", flaky)
    client = await aiohttp_client(app)
    offer_id = await live_offer(client)
    body = {"metric": "units", "tiers": [{"threshold": 1, "reward": {"kind": "confetti"}}]}
    await ok(client, "PUT", GOALS, body)
    async with aiohttp.ClientSession() as session:
        await buy(session, str(client.make_url("")).rstrip("/"), offer_id, "ann")

    async def started() -> bool:
        return await redis.hget(GoalKeys(ROOM).status, "1") == "started"

    await wait_for(started, what="the reward started on its second try")
    assert calls == ["goal:show-1:1", "goal:show-1:1"]
