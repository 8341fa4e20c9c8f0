"""Group buying endpoints (docs/groups.md): a host sets an offer's group terms; viewers
start and join groups (HTTP, or ``group_start`` / ``group_join`` on the room socket) and
read them; the console reads a room's groups. Paying a seat is the usual confirm."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from stockkeeper.groups import Group
from stockkeeper.scripts.groups import JoinReply

from ..appkeys import KEEPER, LINEUP, ROOM_PUBLISHER
from ..errors import Conflict, ErrorCode, Invalid, LivesaleError, NotFound
from ..group_buying import announce, group_counts, group_view
from ..room.publisher import RoomPublisher
from .auth import refuse_banned, require_offer_host, require_room_host, require_viewer
from .decoding import convert_message
from .described import Auth, Reader, Shape, answers, takes
from .groups_bodies import GroupJoinMessage, GroupStartMessage, GroupTerms, JoinGroup, StartGroup
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .socket_actions import SocketCall, add_socket_action
from .views import HoldView, OfferView, offer_view


class MemberView(Shape):
    """A member of a group as the room sees them."""

    name: str
    joined_at_ms: int


class GroupView(Shape):
    """A buying group (``group_view``, server/group_buying.py)."""

    id: str
    offer_id: str
    room_id: str
    state: Literal["forming", "formed", "failed"]
    size: int
    price: int
    members: list[MemberView]
    seats_left: int
    open: bool
    leader_name: str
    created_at_ms: int
    ends_at_ms: int
    formed_at_ms: int | None
    failed_at_ms: int | None
    invite_url: str


class Joined(Shape):
    """A seat in a group and its hold at the group price (201; 200 when it repeats an
    earlier request with the same idempotency key)."""

    outcome: Literal["joined"]
    group: GroupView
    hold: HoldView
    replayed: bool


class OpenGroups(Shape):
    """An offer's open groups with a seat, the one closest to full first, and how many
    groups of the offer are forming, formed and failed."""

    groups: list[GroupView]
    forming: int
    formed: int
    failed: int


class OfferGroups(Shape):
    """One offer's groups in the console."""

    offer_id: str
    title: str
    group_size: int
    group_price: int
    forming: int
    formed: int
    failed: int
    groups: list[GroupView]


class RoomGroups(Shape):
    """Every group offer of a room with its groups (the console)."""

    offers: list[OfferGroups]


_JOIN_ERRORS = {
    400: (ErrorCode.INVALID_FIELD,),
    403: (ErrorCode.BANNED,),
    404: (ErrorCode.UNKNOWN_OFFER, ErrorCode.UNKNOWN_GROUP),
    409: (
        ErrorCode.NOT_GROUP_OFFER,
        ErrorCode.ALREADY_IN_GROUP,
        ErrorCode.ALREADY_HOLDING,
        ErrorCode.LIMIT_REACHED,
        ErrorCode.GROUP_FULL,
        ErrorCode.GROUP_FAILED,
        ErrorCode.SOLD_OUT,
        ErrorCode.NOT_OPEN,
        ErrorCode.PAUSED,
        ErrorCode.CLOSED,
    ),
}


def _refusal(reply: JoinReply) -> LivesaleError:
    """The error a refused start or join answers."""
    match reply.outcome:
        case "unknown_offer":
            return NotFound(ErrorCode.UNKNOWN_OFFER, "There is no such offer.")
        case "unknown_group":
            return NotFound(ErrorCode.UNKNOWN_GROUP, "There is no such group.")
        case "not_group_offer":
            return Conflict(ErrorCode.NOT_GROUP_OFFER, "This offer is not sold in groups.")
        case "already_in_group":
            return Conflict(
                ErrorCode.ALREADY_IN_GROUP,
                "You are in a group of this offer already.",
                group_id=reply.group_id,
            )
        case "already_holding":
            return Conflict(
                ErrorCode.ALREADY_HOLDING,
                "You hold or bought this offer already; a group seat is a unit of its own.",
                units_already=reply.units_already,
            )
        case "limit_reached":
            return Conflict(
                ErrorCode.LIMIT_REACHED,
                "You have reached the per-person limit for this offer.",
                limit=reply.limit,
                units_already=reply.units_already,
            )
        case "group_full":
            return Conflict(
                ErrorCode.GROUP_FULL,
                "This group formed: all its seats are taken. Start a new group.",
                size=reply.size,
            )
        case "group_failed":
            return Conflict(ErrorCode.GROUP_FAILED, "This group's time ran out before it filled.")
        case "sold_out":
            return Conflict(ErrorCode.SOLD_OUT, "Sold out: every unit is taken.", available=0)
        case "not_open":
            message = "This offer has not opened yet; wait for the countdown."
            if reply.opens_at is None:  # a draft: no time set yet
                return Conflict(ErrorCode.NOT_OPEN, message)
            return Conflict(ErrorCode.NOT_OPEN, message, opens_at_ms=reply.opens_at)
        case "paused":
            return Conflict(ErrorCode.PAUSED, "The host has paused this offer.")
    return Conflict(ErrorCode.CLOSED, "This offer has closed.")


async def _seated(
    app: web.Application, reply: JoinReply, offer_id: str
) -> tuple[int, dict[str, Any]]:
    """The answer to a start or join, after telling the group (and the room)."""
    if reply.outcome != "joined" or reply.group_id is None:
        raise _refusal(reply)
    group = await app[KEEPER].groups.get(reply.group_id)
    if group is None:  # pragma: no cover - a group is never deleted
        raise NotFound(ErrorCode.UNKNOWN_GROUP, "There is no such group.")
    if not reply.replayed:
        await _tell(app[ROOM_PUBLISHER], group, reply)
    body = {
        "outcome": "joined",
        "group": group_view(group),
        "hold": {
            "hold_id": reply.hold_id,
            "offer_id": offer_id,
            "quantity": 1,
            "status": reply.status,
            "reserved_at_ms": reply.reserved_at,
            "pay_by_ms": reply.deadline,
        },
        "replayed": reply.replayed,
    }
    return (200 if reply.replayed else 201), body


async def _tell(publisher: RoomPublisher, group: Group, reply: JoinReply) -> None:
    if reply.state == "formed":
        await announce(publisher, "group_formed", group)
    elif reply.members == 1:
        await announce(publisher, "group_started", group)
    else:
        await announce(publisher, "group_updated", group)


@answers(
    Auth.ROOM_HOST,
    {200: OfferView},
    {
        400: (ErrorCode.GROUP_PRICE_NOT_LOWER,),
        404: (ErrorCode.UNKNOWN_OFFER,),
        409: (ErrorCode.HOT_OFFER, ErrorCode.GROUPS_STARTED, ErrorCode.INVALID_STATE),
    },
)
@takes(GroupTerms)
async def set_terms(request: web.Request, read: Reader[GroupTerms]) -> web.Response:
    """Make an offer a group offer (or change its terms while no group has started)."""
    offer = await require_offer_host(request, request.match_info["offer_id"])
    body = await read()
    reply = await request.app[KEEPER].groups.setup(
        offer.id,
        price=body.group_price,
        size=body.group_size,
        window_s=body.window_minutes * 60,
        open_groups=body.open_groups,
    )
    match reply.outcome:
        case "unknown_offer":
            raise NotFound(ErrorCode.UNKNOWN_OFFER, "There is no such offer.")
        case "hot_offer":
            raise Conflict(
                ErrorCode.HOT_OFFER,
                "This offer is split in buckets for a rush; a group's seats and units must "
                "live together, so it cannot take groups.",
                buckets=int(reply.detail),
            )
        case "price_not_lower":
            raise Invalid(
                ErrorCode.GROUP_PRICE_NOT_LOWER,
                "The group price must be below the offer's price.",
                field="group_price",
                unit_price=int(reply.detail),
            )
        case "invalid_state":
            raise Conflict(ErrorCode.INVALID_STATE, "This offer has closed.", state=reply.detail)
        case "groups_started":
            raise Conflict(
                ErrorCode.GROUPS_STARTED, "A group has started: the terms are fixed now."
            )
    fresh = await request.app[KEEPER].get_offer(offer.id)
    await request.app[LINEUP].publisher.publish(
        fresh.room_id, "group_terms", {"offer": offer_view(fresh)}
    )
    return json_response(offer_view(fresh))


@answers(Auth.VIEWER, {201: Joined, 200: Joined}, _JOIN_ERRORS)
@takes(StartGroup)
async def start_group(request: web.Request, read: Reader[StartGroup]) -> web.Response:
    """Start a group of a group offer: a hold at the group price and the first seat."""
    viewer = require_viewer(request)
    body = await read()
    offer_id = request.match_info["offer_id"]
    await refuse_banned(request.app, offer_id, viewer.user_id)
    reply = await request.app[KEEPER].groups.start(
        offer_id, viewer.user_id, viewer.name, body.idempotency_key
    )
    status, answer = await _seated(request.app, reply, offer_id)
    return json_response(answer, status=status)


@answers(Auth.VIEWER, {201: Joined, 200: Joined}, _JOIN_ERRORS)
@takes(JoinGroup)
async def join_group(request: web.Request, read: Reader[JoinGroup]) -> web.Response:
    """Take a seat in a group (an invitation link, or an open group of the room)."""
    viewer = require_viewer(request)
    body = await read()
    group_id = request.match_info["group_id"]
    await refuse_banned(request.app, group_id.partition("-")[0], viewer.user_id)
    reply = await request.app[KEEPER].groups.join(
        group_id, viewer.user_id, viewer.name, body.idempotency_key
    )
    status, answer = await _seated(request.app, reply, group_id.partition("-")[0])
    return json_response(answer, status=status)


@answers(Auth.ANYONE, {200: GroupView}, {404: (ErrorCode.UNKNOWN_GROUP,)})
async def get_group(request: web.Request) -> web.Response:
    """One group, as its invitation link shows it."""
    group = await request.app[KEEPER].groups.get(request.match_info["group_id"])
    if group is None:
        raise NotFound(ErrorCode.UNKNOWN_GROUP, "There is no such group.")
    return json_response(group_view(group))


@answers(Auth.ANYONE, {200: OpenGroups}, {404: (ErrorCode.UNKNOWN_OFFER,)})
async def open_groups(request: web.Request) -> web.Response:
    """An offer's open groups with a free seat, the one closest to full first."""
    keeper = request.app[KEEPER]
    offer = await keeper.get_offer(request.match_info["offer_id"])
    listed = await keeper.groups.open_groups(offer.id)
    counts = group_counts(await keeper.groups.of_offer(offer.id))
    return json_response({"groups": [group_view(g) for g in listed], **counts})


@answers(Auth.ROOM_HOST, {200: RoomGroups}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def room_groups(request: web.Request) -> web.Response:
    """Every group offer of a room with its groups, forming, formed and failed."""
    room_id = room_in_path(request)
    await require_room_host(request, room_id)
    keeper = request.app[KEEPER]
    offers = []
    for offer in await keeper.room_offers(room_id):
        if not offer.group_size:
            continue
        groups = await keeper.groups.of_offer(offer.id)
        offers.append(
            {
                "offer_id": offer.id,
                "title": offer.title,
                "group_size": offer.group_size,
                "group_price": offer.group_price,
                **group_counts(groups),
                "groups": [group_view(g) for g in reversed(groups)],
            }
        )
    return json_response({"offers": offers})


async def start_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``group_start`` on the room socket: the same as the HTTP start."""
    user_id = call.signed_in()
    body = convert_message(message, GroupStartMessage)
    await refuse_banned(call.app, body.offer_id, user_id)
    name = call.viewer.name if call.viewer is not None else ""
    reply = await call.app[KEEPER].groups.start(body.offer_id, user_id, name, body.idempotency_key)
    status, answer = await _seated(call.app, reply, body.offer_id)
    return {"type": "group_joined", "status": status, **answer}


async def join_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``group_join`` on the room socket: the same as the HTTP join."""
    user_id = call.signed_in()
    body = convert_message(message, GroupJoinMessage)
    await refuse_banned(call.app, body.group_id.partition("-")[0], user_id)
    name = call.viewer.name if call.viewer is not None else ""
    reply = await call.app[KEEPER].groups.join(body.group_id, user_id, name, body.idempotency_key)
    status, answer = await _seated(call.app, reply, body.group_id.partition("-")[0])
    return {"type": "group_joined", "status": status, **answer}


def add_routes(app: web.Application) -> None:
    """The group buying routes and socket messages."""
    routes = Routes(app)
    routes.post("/api/offers/{offer_id}/group-terms", set_terms)
    routes.post("/api/offers/{offer_id}/groups", start_group)
    routes.get("/api/offers/{offer_id}/groups", open_groups)
    routes.get("/api/groups/{group_id}", get_group)
    routes.post("/api/groups/{group_id}/members", join_group)
    routes.get("/api/rooms/{room_id}/groups", room_groups)
    add_socket_action(app, "group_start", start_by_socket)
    add_socket_action(app, "group_join", join_by_socket)
