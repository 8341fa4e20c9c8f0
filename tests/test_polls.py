"""Polls over real Redis: one vote per viewer under a storm, changing a vote when the host
allows it, live results and the end of a poll, bad input, the report."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import msgpack
from redis.asyncio import Redis

from server.polls.keys import CLOSING, PollKeys
from server.room.keys import RoomKeys
from stockkeeper.settings import StockSettings

from .engage_helpers import ROOM, create_show, fails, ok
from .helpers import HOST, viewer, wait_for
from .room_helpers import Client, Connect, ask, events_until, of_type
from .test_hosts import other_host

pytest_plugins = ["tests.room_fixtures"]

POLL = {"question": "Which colour next?", "answers": ["Red", "Blue", "Green"]}


async def new_poll(client: Client, **fields: Any) -> dict[str, Any]:
    poll: dict[str, Any] = await ok(client, "POST", f"/api/shows/{ROOM}/polls", {**POLL, **fields})
    return poll


def vote_path(poll: dict[str, Any]) -> str:
    return f"/api/rooms/{ROOM}/polls/{poll['poll_id']}/votes"


async def published(settings: StockSettings, type_: str) -> list[dict[str, Any]]:
    """The data of every event of this type in room show-1's history, oldest first."""
    client = Redis.from_url(settings.redis_url, decode_responses=False)
    try:
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(RoomKeys(ROOM).events)
        )
    finally:
        await client.aclose()
    return [
        msgpack.unpackb(fields[b"d"], raw=False)
        for _, fields in entries
        if fields[b"t"] == type_.encode()
    ]


async def test_two_thousand_concurrent_votes_count_exactly_one_per_viewer(
    room_client: Client, redis: Redis, stock_settings: StockSettings
) -> None:
    await create_show(room_client)
    poll = await new_poll(room_client, window_seconds=600)
    assert poll["state"] == "open"
    viewers = [f"v{i}" for i in range(2000)]
    first = {user: i % 3 for i, user in enumerate(viewers)}
    # Every viewer votes, and every fourth sends a second, different vote at the same time.
    presses = [(user, first[user]) for user in viewers]
    presses += [(user, (first[user] + 1) % 3) for user in viewers[::4]]

    async def press(user: str, answer: int) -> tuple[str, int, int]:
        resp = await room_client.post(
            vote_path(poll), json={"answer": answer}, headers=viewer(user)
        )
        body = await resp.json()
        return user, answer, resp.status if resp.status == 200 else body["error"]["code"]

    results = await asyncio.gather(*(press(user, answer) for user, answer in presses))
    accepted = [(user, answer) for user, answer, status in results if status == 200]
    refused = [status for _, _, status in results if status != 200]
    assert set(refused) <= {"already_voted"}
    assert len(accepted) == len(viewers)
    assert len({user for user, _ in accepted}) == len(viewers)
    expected = Counter(answer for _, answer in accepted)
    k = PollKeys(ROOM, poll["poll_id"])
    stored = {user: int(answer) for user, answer in (await redis.hgetall(k.votes)).items()}
    assert stored == dict(accepted)
    [listed] = (await ok(room_client, "GET", f"/api/rooms/{ROOM}/polls", headers={}))["polls"]
    assert listed["counts"] == [expected[0], expected[1], expected[2]]
    assert listed["votes"] == 2000

    # Live results: the last vote is always in a published result, and 2,000 votes make
    # far fewer events than votes (at most 4 a second per poll).
    async def final_results_published() -> bool:
        return any(e["votes"] == 2000 for e in await published(stock_settings, "poll_results"))

    await wait_for(final_results_published, what="the final results published")
    told = await published(stock_settings, "poll_results")
    assert told[-1]["counts"] == listed["counts"]
    assert len(told) < 100


async def test_a_vote_changes_only_when_the_host_allows_it(room_client: Client) -> None:
    await create_show(room_client)
    fixed, changeable = await new_poll(room_client), await new_poll(room_client, allow_change=True)
    alice = viewer("alice")
    first = await ok(room_client, "POST", vote_path(fixed), {"answer": 0}, alice)
    assert (first["outcome"], first["counts"]) == ("voted", [1, 0, 0])
    again = await ok(room_client, "POST", vote_path(fixed), {"answer": 0}, alice)
    assert (again["outcome"], again["counts"]) == ("unchanged", [1, 0, 0])
    status, code = await fails(room_client, "POST", vote_path(fixed), {"answer": 2}, alice)
    assert (status, code) == (409, "already_voted")

    await ok(room_client, "POST", vote_path(changeable), {"answer": 0}, alice)
    changed = await ok(room_client, "POST", vote_path(changeable), {"answer": 2}, alice)
    assert (changed["outcome"], changed["counts"]) == ("changed", [0, 0, 1])


async def test_viewers_see_the_poll_open_live_results_and_the_end(
    room_client: Client, connect: Connect
) -> None:
    await create_show(room_client)
    watcher, bob = await connect(), await connect("bob")
    poll = await new_poll(room_client, answers=["Yes", "No"])
    [*_, opened] = await events_until(watcher, of_type("poll_opened"))
    assert opened["poll"]["question"] == POLL["question"]
    assert opened["poll"]["closes_at_ms"] > opened["poll"]["opens_at_ms"]

    answer = await ask(bob, "poll_vote", poll_id=poll["poll_id"], answer=1)
    assert (answer["type"], answer["outcome"], answer["counts"]) == (
        "poll_vote_result",
        "voted",
        [0, 1],
    )
    [*_, results] = await events_until(watcher, of_type("poll_results"))
    assert (results["poll_id"], results["counts"], results["votes"]) == (poll["poll_id"], [0, 1], 1)

    ended = await ok(room_client, "POST", f"/api/shows/{ROOM}/polls/{poll['poll_id']}/end")
    assert ended["state"] == "closed"
    [*_, closed] = await events_until(watcher, of_type("poll_closed"))
    assert closed["poll"]["counts"] == [0, 1]
    late = await ask(bob, "poll_vote", poll_id=poll["poll_id"], answer=0)
    assert (late["type"], late["code"]) == ("error", "poll_closed")
    unknown = await ask(bob, "poll_vote", poll_id="999", answer=0)
    assert unknown["code"] == "unknown_poll"
    anonymous = await ask(watcher, "poll_vote", poll_id=poll["poll_id"], answer=0)
    assert anonymous["code"] == "token_required"


async def test_a_poll_ends_by_itself_when_its_window_passes(
    room_client: Client, connect: Connect, redis: Redis
) -> None:
    await create_show(room_client)
    watcher = await connect()
    poll = await new_poll(room_client)
    k = PollKeys(ROOM, poll["poll_id"])
    # The window "passes": its end moves into the past, as 10 s of waiting would.
    await redis.hset(k.poll, "closes_at", 1)
    await redis.zadd(CLOSING, {k.closing_member: 1})
    status, code = await fails(room_client, "POST", vote_path(poll), {"answer": 0}, viewer("al"))
    assert (status, code) == (409, "poll_closed")
    [*_, closed] = await events_until(watcher, of_type("poll_closed"))
    assert closed["poll"]["state"] == "closed"
    assert await redis.zcard(CLOSING) == 0
    # A poll gone from Redis (flushed by hand) leaves the list instead of failing each round.
    await redis.zadd(CLOSING, {PollKeys(ROOM, "404").closing_member: 1})
    await wait_for(lambda: _empty(redis), what="the unknown poll dropped")


async def _empty(redis: Redis) -> bool:
    return await redis.zcard(CLOSING) == 0


async def test_a_poll_started_later_refuses_votes_until_then(room_client: Client) -> None:
    await create_show(room_client)
    poll = await new_poll(room_client, start=False)
    assert poll["state"] == "draft"
    status, code = await fails(room_client, "POST", vote_path(poll), {"answer": 0}, viewer("al"))
    assert (status, code) == (409, "poll_not_open")
    start = f"/api/shows/{ROOM}/polls/{poll['poll_id']}/start"
    assert (await ok(room_client, "POST", start))["state"] == "open"
    assert (await fails(room_client, "POST", start, None, HOST)) == (409, "invalid_state")
    await ok(room_client, "POST", vote_path(poll), {"answer": 0}, viewer("al"))


async def test_bad_polls_and_votes_get_stable_codes(room_client: Client, redis: Redis) -> None:
    await create_show(room_client)
    create = f"/api/shows/{ROOM}/polls"
    for body, expected in [
        ({**POLL, "answers": ["Only one"]}, (400, "invalid_field")),
        ({**POLL, "answers": ["a", "b", "c", "d", "e"]}, (400, "invalid_field")),
        ({**POLL, "answers": ["Red", ""]}, (400, "invalid_field")),
        ({**POLL, "answers": ["Red", "   "]}, (400, "invalid_field")),
        ({**POLL, "question": ""}, (400, "invalid_field")),
        ({**POLL, "window_seconds": 9}, (400, "out_of_range")),
        ({**POLL, "window_seconds": 601}, (400, "out_of_range")),
        ({**POLL, "colour": "red"}, (400, "unknown_field")),
    ]:
        assert await fails(room_client, "POST", create, body, HOST) == expected, body
    # A viewer is no host; another host does not run this show.
    assert (await fails(room_client, "POST", create, POLL, viewer("al")))[0] == 401
    rival = await other_host(redis)
    assert await fails(room_client, "POST", create, POLL, rival) == (403, "not_your_room")
    assert await fails(room_client, "POST", "/api/shows/nowhere/polls", POLL, HOST) == (
        404,
        "unknown_show",
    )
    poll = await new_poll(room_client, answers=["Yes", "No"])
    al = viewer("al")
    assert await fails(room_client, "POST", vote_path(poll), {"answer": 2}, al) == (
        400,
        "unknown_answer",
    )
    assert await fails(room_client, "POST", vote_path(poll), {"answer": 7}, al) == (
        400,
        "out_of_range",
    )
    assert (await fails(room_client, "POST", vote_path(poll), {"answer": 0}, {}))[1] == (
        "token_required"
    )
    missing = f"/api/rooms/{ROOM}/polls/42/votes"
    assert await fails(room_client, "POST", missing, {"answer": 0}, al) == (404, "unknown_poll")
    end = f"/api/shows/{ROOM}/polls/{poll['poll_id']}/end"
    assert await fails(room_client, "POST", end, None, rival) == (403, "not_your_room")


async def test_the_report_lists_every_poll_with_its_final_counts(room_client: Client) -> None:
    await create_show(room_client)
    poll = await new_poll(room_client, answers=["Yes", "No"])
    await ok(room_client, "POST", vote_path(poll), {"answer": 0}, viewer("al"))
    await ok(room_client, "POST", vote_path(poll), {"answer": 1}, viewer("bo"))
    await ok(room_client, "POST", vote_path(poll), {"answer": 1}, viewer("cy"))
    report = await ok(room_client, "POST", f"/api/shows/{ROOM}/end")
    [reported] = report["sections"]["polls"]["polls"]
    assert (reported["question"], reported["counts"], reported["votes"]) == (
        POLL["question"],
        [1, 2],
        3,
    )
    # The show's end ended the poll: the report's counts are final.
    assert reported["state"] == "closed"
    late = await fails(room_client, "POST", vote_path(poll), {"answer": 0}, viewer("dee"))
    assert late == (409, "poll_closed")
