"""Questions over real Redis: viewers mark chat messages (theirs or others') as questions,
counted once per viewer; the host lists them and pins one with an answer; bad marks."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from .engage_helpers import ROOM, create_show, fails, ok
from .helpers import HOST, viewer
from .room_helpers import Client, Connect, ask, events_until, of_type
from .test_hosts import other_host

pytest_plugins = ["tests.room_fixtures"]

MARK = f"/api/rooms/{ROOM}/questions"


async def test_the_questions_flow_from_chat_to_the_pinned_answer(
    room_client: Client, connect: Connect
) -> None:
    await create_show(room_client)
    alice, bob, watcher = await connect("alice"), await connect("bob"), await connect()
    question = (await ask(alice, "chat", text="Does it come in blue?"))["offset"]
    other = (await ask(bob, "chat", text="Is it dishwasher safe?"))["offset"]

    # Alice marks her own message over the socket; Bob marks it too, and 30 viewers at
    # once mark Bob's message over HTTP, each of them twice.
    own = await ask(alice, "question_mark", message_offset=question)
    assert (own["type"], own["outcome"], own["marks"]) == ("question_mark_result", "new", 1)
    again = await ask(alice, "question_mark", message_offset=question)
    assert (again["outcome"], again["marks"]) == ("already", 1)
    assert (await ask(bob, "question_mark", message_offset=question))["marks"] == 2
    storm = [
        room_client.post(MARK, json={"message_offset": other}, headers=viewer(f"v{i % 30}"))
        for i in range(60)
    ]
    answers = [await resp.json() for resp in await asyncio.gather(*storm)]
    assert sorted(a["outcome"] for a in answers).count("already") == 30
    assert max(a["marks"] for a in answers) == 30
    # The room hears the first mark at once and the count at most once a second after:
    # the last count always comes (in any order between questions), 30 marks do not make
    # 30 events.
    told: dict[str, list[int]] = {question: [], other: []}

    def both_counted(event: dict[str, Any]) -> bool:
        if event["type"] == "question_marked":
            told[event["message_offset"]].append(event["marks"])
            if event["message_offset"] == question:
                assert (event["text"], event["name"]) == ("Does it come in blue?", "Viewer alice")
        return 2 in told[question] and 30 in told[other]

    await events_until(watcher, both_counted)
    assert told[question][0] == 1
    assert len(told[other]) < 30

    listed = (await ok(room_client, "GET", f"/api/shows/{ROOM}/questions"))["questions"]
    assert [(q["message_offset"], q["marks"], q["answer"]) for q in listed] == [
        (other, 30, None),
        (question, 2, None),
    ]

    answer = "Yes: blue and red, from Friday."
    pinned = await ok(
        room_client, "POST", f"/api/shows/{ROOM}/questions/{question}/answer", {"answer": answer}
    )
    assert (pinned["text"], pinned["answer"], pinned["pinned"]) == (
        "Does it come in blue?",
        answer,
        True,
    )
    [*_, answered] = await events_until(watcher, of_type("question_answered"))
    assert answered["question"]["answer"] == answer
    shown = await ok(room_client, "GET", f"{MARK}/pinned", headers={})
    assert shown["question"]["message_offset"] == question

    await ok(room_client, "POST", f"/api/shows/{ROOM}/questions/pinned/clear")
    await events_until(watcher, of_type("question_unpinned"))
    assert (await ok(room_client, "GET", f"{MARK}/pinned", headers={}))["question"] is None

    report = await ok(room_client, "POST", f"/api/shows/{ROOM}/end")
    section = report["sections"]["questions"]
    assert (section["asked"], section["answered"]) == (2, 1)


async def test_bad_marks_and_answers_get_stable_codes(
    room_client: Client, connect: Connect, redis: Redis
) -> None:
    await create_show(room_client)
    alice = await connect("alice")
    chat = (await ask(alice, "chat", text="hello"))["offset"]
    al = viewer("al")
    assert await fails(room_client, "POST", MARK, {"message_offset": "1-0"}, al) == (
        404,
        "unknown_message",
    )
    assert await fails(room_client, "POST", MARK, {"message_offset": "yesterday"}, al) == (
        400,
        "invalid_field",
    )
    assert (await fails(room_client, "POST", MARK, {"message_offset": chat}, {}))[1] == (
        "token_required"
    )
    bad = await ask(alice, "question_mark", message_offset="nope")
    assert (bad["type"], bad["code"]) == ("error", "invalid_message")
    # Not a chat message: the host's announcement.
    notice = await ok(room_client, "POST", f"/api/rooms/{ROOM}/announcements", {"text": "Hi"})
    assert await fails(room_client, "POST", MARK, {"message_offset": notice["offset"]}, al) == (
        404,
        "unknown_message",
    )
    # A message the host removed is no question any more.
    await ok(room_client, "POST", f"/api/rooms/{ROOM}/messages/{chat}/delete")
    assert await fails(room_client, "POST", MARK, {"message_offset": chat}, al) == (
        404,
        "unknown_message",
    )
    answer = f"/api/shows/{ROOM}/questions/{chat}/answer"
    assert await fails(room_client, "POST", answer, {"answer": "x"}, HOST) == (
        404,
        "unknown_question",
    )
    assert await fails(room_client, "POST", answer, {"answer": ""}, HOST) == (
        400,
        "invalid_field",
    )
    assert (await fails(room_client, "GET", f"/api/shows/{ROOM}/questions", None, al))[0] == 401
    rival = await other_host(redis)
    assert await fails(room_client, "GET", f"/api/shows/{ROOM}/questions", None, rival) == (
        403,
        "not_your_room",
    )
    await ok(room_client, "POST", f"/api/rooms/{ROOM}/bans", {"user_id": "al"})
    fresh = (await ask(alice, "chat", text="another"))["offset"]
    assert await fails(room_client, "POST", MARK, {"message_offset": fresh}, al) == (
        403,
        "banned",
    )
