"""What a slow viewer's queue keeps: the latest of each state, and never one offer's stock
(or a poll's results) lost to another's."""

from __future__ import annotations

from typing import Any

from server.room.connection import Outgoing
from server.room.events import KEEPALIVE_COVERS, RoomEvent
from server.room.fanout import views_for


def event(n: int, type_: str, **data: Any) -> RoomEvent:
    return RoomEvent(f"{n}-0", 1_000 + n, type_, data)


def test_a_frame_keeps_only_the_latest_of_each_state_and_every_other_event() -> None:
    events = [
        event(1, "stock", offer_id="a", available=5),
        event(2, "poll_results", poll_id="p1", votes=10),
        event(3, "stock", offer_id="b", available=9),
        event(4, "chat", text="hi"),
        event(5, "stock", offer_id="a", available=4),
        event(6, "poll_results", poll_id="p2", votes=1),
        event(7, "poll_results", poll_id="p1", votes=12),
        event(8, "goal_progress", value=100),
        event(9, "goal_progress", value=150),
    ]
    views, covers = views_for(events, "")
    assert [v["offset"] for v in views] == ["3-0", "4-0", "5-0", "6-0", "7-0", "9-0"]
    assert covers is None  # the chat line is not a state


def test_a_frame_of_states_says_which() -> None:
    views, covers = views_for(
        [event(1, "stock", offer_id="a"), event(2, "counts", viewers=3)], "user-1"
    )
    assert len(views) == 2
    assert covers == frozenset({("stock", "a"), ("counts", None)})


async def frames(queue: Outgoing) -> list[bytes]:
    """What the viewer's writer would send, in order."""
    taken = []
    while not queue.empty():
        taken.append(await queue.get())
    return taken


async def test_a_waiting_state_frame_is_replaced_only_by_one_saying_at_least_its_states() -> None:
    queue = Outgoing(max_frames=10, max_bytes=10_000)
    queue.put(b"stock a=5", frozenset({("stock", "a")}))
    queue.put(b"stock b=9", frozenset({("stock", "b")}))  # another offer: both kept
    queue.put(b"stock b=8, a=4", frozenset({("stock", "a"), ("stock", "b")}))
    assert await frames(queue) == [b"stock b=8, a=4"]  # it says both


async def test_counts_and_keepalives_do_not_push_out_a_waiting_stock_figure() -> None:
    queue = Outgoing(max_frames=10, max_bytes=10_000)
    queue.put(b"stock a=0", frozenset({("stock", "a")}))
    queue.put(b"counts", frozenset({("counts", None)}))
    queue.put(b"keepalive", KEEPALIVE_COVERS)
    queue.put(b"keepalive again", KEEPALIVE_COVERS)
    assert await frames(queue) == [b"stock a=0", b"counts", b"keepalive again"]


async def test_a_frame_with_anything_but_states_is_never_replaced() -> None:
    queue = Outgoing(max_frames=10, max_bytes=10_000)
    queue.put(b"chat + stock a", None)
    queue.put(b"stock a", frozenset({("stock", "a")}))
    assert await frames(queue) == [b"chat + stock a", b"stock a"]


async def test_states_of_several_offers_alternating_keep_one_frame_each() -> None:
    """Two hot offers' stock frames alternate: the queue keeps the latest of each, not a
    backlog that would close a slow viewer."""
    queue = Outgoing(max_frames=10, max_bytes=10_000)
    for n in range(50):
        offer = "a" if n % 2 == 0 else "b"
        assert queue.put(f"stock {offer}={n}".encode(), frozenset({("stock", offer)}))
    assert await frames(queue) == [b"stock a=48", b"stock b=49"]


async def test_a_state_frame_never_moves_past_an_event_that_is_not_a_state() -> None:
    queue = Outgoing(max_frames=10, max_bytes=10_000)
    queue.put(b"stock a=5", frozenset({("stock", "a")}))
    queue.put(b"chat", None)
    queue.put(b"stock a=4", frozenset({("stock", "a")}))
    assert await frames(queue) == [b"stock a=5", b"chat", b"stock a=4"]
